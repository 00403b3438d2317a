/**
 * `${NAME}` placeholders in profile values.
 *
 * - A placeholder is `${` + an upper-case name (`[A-Z_][A-Z0-9_]*`) + `}`.
 * - It is replaced in every string value (the description, config values,
 *   device options), after the YAML is parsed, so a value such as a home
 *   directory with odd characters can never change the YAML structure.
 *   Keys (config keys, device names) are left as written.
 * - `$${NAME}` stands for a literal `${NAME}` (for a value Incus or a tool in
 *   the container should see unexpanded).
 * - A placeholder with no value is an `UnknownVariable` error naming the file
 *   and the placeholder.
 *
 * The values repoman supplies (see `PreparedProfile.prepareContext` in `@repoman/programs`):
 *
 * | placeholder | value |
 * | --- | --- |
 * | `${HOST_LAN_IP}` | the host's LAN address (`[host].lan_ip` in repoman.toml, else detected) |
 * | `${USER}` | the host user's login name |
 * | `${HOME}` | the host user's home directory |
 * | `${UID}` | the host user's uid (mapped to 1000 in containers) |
 * | `${GID}` | the host user's primary gid (mapped to 1000 in containers) |
 *
 * @since 0.1.0
 * @module
 */
import { ProfileSpec } from "@repoman/core/ContainerRuntime"
import { ProfileError, type ProfileVariables, UnknownVariable } from "@repoman/core/ProfileStore"
import * as Effect from "effect/Effect"
import type { RawProfile } from "./ProfileYaml.ts"

const PLACEHOLDER = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/**
 * The placeholders a string uses (escaped `$${X}` ones excluded).
 *
 * @since 0.1.0
 * @category utils
 */
export const placeholders = (value: string): ReadonlyArray<string> =>
  Array.from(value.matchAll(PLACEHOLDER)).filter((m) => m[1] === "").map((m) => m[2] ?? "")

/**
 * Replaces the placeholders of one string; the first one without a value is
 * returned as `Left`-style `{ missing }`.
 *
 * @example
 * ```ts
 * import { substitute } from "@repoman/profiles/Placeholders"
 * substitute("${HOME}/.claude", { HOME: "/home/ada" }) // { value: "/home/ada/.claude" }
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const substitute = (
  value: string,
  variables: ProfileVariables
): { readonly value: string } | { readonly missing: string } => {
  let missing: string | undefined
  const out = value.replace(PLACEHOLDER, (whole, escape: string, name: string) => {
    if (escape === "$") return whole.slice(1)
    const v = Object.hasOwn(variables, name) ? variables[name] : undefined
    if (v === undefined) {
      missing ??= name
      return whole
    }
    return v
  })
  return missing === undefined ? { value: out } : { missing }
}

/**
 * Renders a parsed profile: every string value with its placeholders
 * replaced. `file` names the profile in errors.
 *
 * @since 0.1.0
 * @category utils
 */
export const renderProfile = (
  file: string,
  raw: RawProfile,
  variables: ProfileVariables
): Effect.Effect<ProfileSpec, ProfileError> =>
  Effect.gen(function*() {
    const one = (value: string) => {
      const result = substitute(value, variables)
      return "missing" in result
        ? Effect.fail(new ProfileError({ reason: new UnknownVariable({ file, placeholder: result.missing }) }))
        : Effect.succeed(result.value)
    }
    const map = (m: Readonly<Record<string, string>>) =>
      Effect.forEach(Object.entries(m), ([k, v]) => Effect.map(one(v), (r) => [k, r] as const)).pipe(
        Effect.map((entries) => Object.fromEntries(entries))
      )
    const description = yield* one(raw.description)
    const config = yield* map(raw.config)
    const devices = Object.fromEntries(
      yield* Effect.forEach(Object.entries(raw.devices), ([k, v]) => Effect.map(map(v), (r) => [k, r] as const))
    )
    return new ProfileSpec({ description, config, devices })
  })
