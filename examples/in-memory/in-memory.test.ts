/**
 * Testing your own automation without Incus: arrange the world with the
 * same use cases the CLI runs (`newProject`), on the memory stack, then run
 * the automation and assert on the services' state and on what it printed.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { BackupTarget } from "@repoman/core/BackupTarget"
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import { ProjectName } from "@repoman/core/Ids"
import { Registry } from "@repoman/core/Registry"
import { newProject } from "@repoman/programs/NewProject"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestConsole from "effect/testing/TestConsole"
import * as MemoryStack from "./src/MemoryStack.ts"
import { morning } from "./src/morning.ts"

const alpha = ProjectName.make("alpha")
const beta = ProjectName.make("beta")

describe("in-memory", () => {
  it.effect("starts the stopped containers and backs up the never-synced projects", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-in-memory-" })
      yield* fs.makeDirectory(`${root}/alpha`)
      yield* fs.makeDirectory(`${root}/beta`)
      const stack = MemoryStack.layer({
        reposRoot: root,
        sources: [[`${root}/alpha`, new Map([["README.md", "# alpha\n"]])], [
          `${root}/beta`,
          new Map([["main.c", "int main;\n"]])
        ]]
      })

      yield* Effect.gen(function*() {
        // Arrange: two projects; alpha stopped, beta already backed up once.
        yield* newProject({ name: alpha })
        yield* newProject({ name: beta })
        const runtime = yield* ContainerRuntime
        yield* runtime.stop(alpha)
        const registry = yield* Registry
        yield* registry.updateProject(beta, (p) => ({ ...p, lastSync: p.created }))

        // Act
        const report = yield* morning

        // Assert
        assert.deepStrictEqual(report, { started: ["alpha"], backedUp: ["alpha"] })
        assert.strictEqual((yield* runtime.get(alpha)).status, "Running")
        const target = yield* BackupTarget
        assert.isTrue((yield* target.check()).reachable)
        assert.isDefined((yield* registry.getProject(alpha)).lastSync)
        assert.deepStrictEqual(yield* TestConsole.logLines, ["started alpha", "backed up alpha"])
      }).pipe(Effect.provide(Layer.merge(stack, TestConsole.layer)))
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a failed backup is reported, not hidden", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* fs.makeTempDirectoryScoped({ prefix: "repoman-in-memory-" })
      yield* fs.makeDirectory(`${root}/alpha`)
      // No source tree for alpha in the memory target: its mirror fails.
      yield* Effect.gen(function*() {
        yield* newProject({ name: alpha })
        const report = yield* morning
        assert.deepStrictEqual(report, { started: [], backedUp: [] })
        assert.deepStrictEqual(yield* TestConsole.logLines, ["backup of alpha FAILED"])
        const project = yield* (yield* Registry).getProject(alpha)
        assert.isTrue(Option.isNone(Option.fromNullishOr(project.lastSync)))
      }).pipe(Effect.provide(Layer.merge(MemoryStack.layer({ reposRoot: root }), TestConsole.layer)))
    }).pipe(Effect.provide(NodeServices.layer)))
})
