import { defineConfig } from "vitest/config"

const unit = (name: string) => ({
  test: {
    name: `@repoman/${name}`,
    root: `packages/${name}`,
    include: ["test/**/*.test.ts"],
    exclude: ["test/**/*.integration.test.ts"]
  }
})

export default defineConfig({
  test: {
    projects: [
      unit("core"),
      unit("incus"),
      unit("profiles"),
      unit("backup"),
      unit("cli"),
      {
        test: {
          name: "examples",
          root: "examples",
          include: ["**/*.test.ts"],
          exclude: ["**/node_modules/**"]
        }
      }
    ],
    passWithNoTests: false
  }
})
