import { defineConfig } from "vitest/config"

/**
 * One project per package for the unit tests. The integration tests
 * (`*.integration.test.ts`: a real incusd, rsync and mounts) form their own
 * project, included when REPOMAN_INTEGRATION=1 (.ci/run sets it).
 */
const integration = process.env["REPOMAN_INTEGRATION"] === "1"

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
      unit("node"),
      unit("programs"),
      unit("incus"),
      unit("profiles"),
      unit("checkpoints"),
      unit("backup"),
      unit("cli"),
      {
        test: {
          name: "examples",
          root: "examples",
          include: ["**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/*.integration.test.ts"]
        }
      },
      ...(integration
        ? [{
          test: {
            name: "integration",
            include: ["packages/*/test/**/*.integration.test.ts", "examples/**/*.integration.test.ts"],
            testTimeout: 180_000,
            hookTimeout: 180_000,
            // Incus work is I/O bound on one daemon: a few files at a time.
            maxWorkers: 2
          }
        }]
        : [])
    ],
    passWithNoTests: false
  }
})
