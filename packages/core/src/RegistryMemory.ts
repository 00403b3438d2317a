/**
 * An in-memory Registry, for unit tests and for scripts that want the
 * registry semantics without files. Writes are serialized like the file
 * registry's.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Semaphore from "effect/Semaphore"
import type { ProjectName } from "./Ids.ts"
import { make as makeRegistry, NotInitialized, Registry, RegistryError } from "./Registry.ts"
import type { ProjectOverride, RegistryDocument } from "./RegistryDocument.ts"

/**
 * Initial content of the memory registry. Without `document` the registry
 * starts uninitialized, as on a machine where `repoman setup` has not run.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  readonly document?: RegistryDocument
  readonly overrides?: ReadonlyMap<ProjectName, ProjectOverride>
}

const location = "memory:repoman.toml"

/**
 * Builds a memory Registry.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: MemoryOptions = {}) =>
  Effect.gen(function*() {
    const state = yield* Ref.make<RegistryDocument | undefined>(options.document)
    const lock = yield* Semaphore.make(1)
    const load = Effect.flatMap(Ref.get(state), (d) =>
      d === undefined
        ? Effect.fail(new RegistryError({ reason: new NotInitialized({ path: location }) }))
        : Effect.succeed(d))
    return makeRegistry({
      location,
      load,
      modify: (f) =>
        lock.withPermits(1)(Effect.gen(function*() {
          const [result, next] = yield* f(yield* load)
          yield* Ref.set(state, next)
          return result
        })),
      initialize: (document) =>
        lock.withPermits(1)(Ref.modify(state, (d) => d === undefined ? [true, document] : [false, d])),
      overrides: Effect.gen(function*() {
        const registered = new Set<string>((yield* load).projects.map((p) => p.name))
        const byProject = new Map<ProjectName, ProjectOverride>()
        const orphans: Array<{ name: string; path: string }> = []
        for (const [name, override] of options.overrides ?? []) {
          byProject.set(name, override)
          if (!registered.has(name)) orphans.push({ name, path: `memory:repos.d/${name}.toml` })
        }
        return { byProject, orphans }
      }),
      getOverride: (name) => Effect.succeed(Option.fromNullishOr(options.overrides?.get(name)))
    })
  })

/**
 * The memory Registry layer.
 *
 * @example
 * ```ts
 * import * as RegistryMemory from "@repoman/core/RegistryMemory"
 * import { emptyDocument } from "@repoman/core/RegistryDocument"
 * const layer = RegistryMemory.layer({ document: emptyDocument })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: MemoryOptions = {}): Layer.Layer<Registry> => Layer.effect(Registry, make(options))
