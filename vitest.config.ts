import { defineConfig } from "vitest/config"

/**
 * One project per package for the unit tests. The integration tests
 * (`*.integration.test.ts`: a real incusd, rsync and mounts) form their own
 * project, included when REPOMAN_INTEGRATION=1 (.ci/run sets it); the tests
 * of the restricted (incus-user) access (`*.restricted.test.ts`) form one more,
 * included when REPOMAN_CI_RESTRICTED=1 too (the non-admin CI job).
 */
const integration = process.env["REPOMAN_INTEGRATION"] === "1"

const unit = (name: string) => ({
  test: {
    name: `@repoman/${name}`,
    root: `packages/${name}`,
    include: ["test/**/*.test.ts"],
    exclude: ["test/**/*.integration.test.ts", "test/**/*.restricted.test.ts"],
    // Unit tests assert results, never time: a slow, shared machine (property
    // tests with hundreds of runs, a cold transform) must not fail them.
    testTimeout: 30_000
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
      unit("live"),
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
        : []),
      // As a user without incus-admin, through incus-user (scripts/ci/leastpriv.sh sets
      // REPOMAN_CI_RESTRICTED=1 for that user's runs): one project shared by every test, so one file.
      ...(integration && process.env["REPOMAN_CI_RESTRICTED"] === "1"
        ? [{
          test: {
            name: "restricted",
            include: ["packages/*/test/**/*.restricted.test.ts"],
            testTimeout: 300_000,
            hookTimeout: 300_000,
            maxWorkers: 1
          }
        }]
        : [])
    ],
    passWithNoTests: false
  }
})
