/**
 * The bulk-create example against the real Incus, as a user runs it:
 * `node main.ts [--dry-run]` on RepomanLive, after `repoman setup`, in a
 * throwaway config dir, repos root and Incus project.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as ChildProcess from "effect/process/ChildProcess"
import { fileURLToPath } from "node:url"
import { busybox, IntegrationLayer, outcome, sandbox } from "../../packages/cli/test/integration.ts"

const main = fileURLToPath(new URL("./main.ts", import.meta.url))

describe("examples/bulk-create on the real Incus", () => {
  it.live(
    "dry run creates nothing; the real run creates one running container per repo dir; again is a no-op",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const { env, reposRoot, repoman, client, project } = yield* sandbox
        const s = yield* repoman([
          "setup",
          "--non-interactive",
          "--incus-project",
          project,
          "--repos-root",
          reposRoot,
          "--image",
          busybox
        ])
        assert.strictEqual(s.code, 0, s.stderr)
        for (const repo of ["alpha", "beta"]) yield* fs.makeDirectory(`${reposRoot}/${repo}`)

        const bulk = (...args: ReadonlyArray<string>) =>
          outcome(
            ChildProcess.make(process.execPath, [main, ...args], { env: { ...process.env, ...env }, stdin: "ignore" })
          )

        const dry = yield* bulk("--dry-run")
        assert.strictEqual(dry.code, 0, dry.stderr)
        assert.include(dry.stdout, "would create alpha")
        assert.include(dry.stdout, "would create beta")
        assert.deepStrictEqual(yield* client.listInstances(project), [])

        const real = yield* bulk()
        assert.strictEqual(real.code, 0, real.stdout + real.stderr)
        const instances = yield* client.listInstances(project)
        assert.deepStrictEqual(instances.map((i) => [i.name, i.status]).sort(), [["alpha", "Running"], [
          "beta",
          "Running"
        ]])

        const again = yield* bulk()
        assert.strictEqual(again.code, 0, again.stderr)
        assert.notInclude(again.stdout, "created      ")
        assert.strictEqual((yield* client.listInstances(project)).length, 2)
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )
})
