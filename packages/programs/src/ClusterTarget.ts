/**
 * Where on an Incus cluster a new container may go (`new --target MEMBER`):
 * checked before anything is made.
 *
 * @since 0.1.0
 * @module
 */
import { ContainerRuntime } from "@repoman/core/ContainerRuntime"
import type { MemberName } from "@repoman/core/Ids"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { LifecycleError, TargetRefused } from "./LifecycleError.ts"

/**
 * Fails with `TargetRefused` unless `target` is an `Online` member of the
 * engine's cluster that can mount the repo: on one machine (no cluster), for
 * a name no member has, or for another machine than this one while the repo
 * is a directory of this one (`hostPaths`, the default: the only kind of
 * repo `new` makes here) the user's input was wrong; an offline or evacuated
 * member cannot take a container now. Reads the members only when there is a
 * target.
 *
 * @since 0.1.0
 * @category programs
 */
export const requireTarget = Effect.fn("requireTarget")(function*(
  target: MemberName | undefined,
  options?: { readonly hostPaths?: boolean }
) {
  if (target === undefined) return
  const runtime = yield* ContainerRuntime
  const listed = yield* runtime.clusterMembers()
  const members = Option.getOrElse(listed, () => [])
    .map((m) => ({ name: m.name as string, status: m.status, message: m.message, thisHost: m.thisHost }))
  const member = members.find((m) => m.name === target)
  const why = Option.isNone(listed)
    ? "not-clustered" as const
    : member === undefined
    ? "unknown" as const
    : (options?.hostPaths ?? true) && !member.thisHost
    ? "elsewhere" as const
    : member.status !== "Online"
    ? "unavailable" as const
    : undefined
  if (why !== undefined) return yield* new LifecycleError({ reason: new TargetRefused({ target, why, members }) })
})
