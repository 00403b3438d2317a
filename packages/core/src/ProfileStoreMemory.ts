/**
 * An in-memory {@link ProfileStore} for unit tests and plugin authors: a
 * library of profile documents (or functions of the render variables), all
 * of vendor origin, listed by name.
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { ProfileSpec } from "./ContainerRuntime.ts"
import { ProfileName } from "./Ids.ts"
import { NotFound, ProfileEntry, ProfileError, ProfileStore, type ProfileVariables } from "./ProfileStore.ts"

/**
 * One profile of the memory library: its rendered document, or a function
 * rendering it from the variables.
 *
 * @since 0.1.0
 * @category models
 */
export type Template = ProfileSpec | ((variables: ProfileVariables) => ProfileSpec)

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  /** The library, by profile name. Default: empty. */
  readonly profiles?: ReadonlyMap<string, Template> | Readonly<Record<string, Template>>
}

/**
 * Builds a memory profile store. It reads `profiles` at every call, so a
 * test may change the map in between (an edited library). `read` gives the
 * document as JSON.
 *
 * @example
 * ```ts
 * import { ProfileSpec } from "@repoman/core/ContainerRuntime"
 * import * as ProfileStoreMemory from "@repoman/core/ProfileStoreMemory"
 *
 * const store = ProfileStoreMemory.make({
 *   profiles: { "editor-env": (v) => new ProfileSpec({ description: "", config: { "environment.EDITOR": v["USER"] ?? "" }, devices: {} }) }
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: MemoryOptions = {}): Effect.Effect<ProfileStore["Service"]> =>
  Effect.sync(() => service(options))

const service = (options: MemoryOptions): ProfileStore["Service"] => {
  const entries = (): ReadonlyMap<string, Template> =>
    options.profiles instanceof Map ? options.profiles : new Map(Object.entries(options.profiles ?? {}))
  const find = (name: ProfileName) => {
    const template = entries().get(name)
    return template === undefined
      ? Effect.fail(new ProfileError({ reason: new NotFound({ name, known: [...entries().keys()] }) }))
      : Effect.succeed(template)
  }
  const render = (template: Template, variables: ProfileVariables) =>
    typeof template === "function" ? template(variables) : template
  return ProfileStore.of({
    list: () =>
      Effect.sync(() =>
        [...entries().keys()].sort().map((name) =>
          new ProfileEntry({
            name: ProfileName.make(name),
            origin: { _tag: "Vendor" },
            shadows: false,
            location: `memory:${name}`
          })
        )
      ),
    read: (name) => Effect.map(find(name), (t) => JSON.stringify(render(t, {}))),
    render: (name, variables) => Effect.map(find(name), (t) => render(t, variables))
  })
}

/**
 * A layer providing a memory {@link ProfileStore}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: MemoryOptions = {}): Layer.Layer<ProfileStore> =>
  Layer.effect(ProfileStore, make(options))
