/**
 * What an Incus client may do, as incusd says: `GET /1.0` tells how it
 * authenticated us (`unix`: the admin socket, full control; `tls`: a client
 * certificate, which is how `incus-user` proxies a member of group
 * `incus`), and for a certificate `GET /1.0/certificates/<fingerprint>`
 * whether it is restricted and to which projects.
 */
import { EngineAccess } from "@repoman/core/ContainerRuntime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { IncusClientShape } from "../../IncusClient.ts"
import { mapErrorsIn } from "./context.ts"

export const readAccess = (client: IncusClientShape, project: string, owner: number) =>
  Effect.gen(function*() {
    const mapped = mapErrorsIn(project, { kind: "namespace", name: project, operation: "read access" })
    const server = yield* client.getServer().pipe(mapped)
    if (server.auth_user_method === "unix") {
      return new EngineAccess({
        identity: server.auth_user_name || "unix",
        via: `the admin socket ${client.socketPath}`,
        restricted: false,
        namespaces: [],
        defaultNamespace: Option.none()
      })
    }
    // A certificate: incus-user's (restricted to the user's project), or one an admin trusted.
    const certificate = yield* client.getCertificate(server.auth_user_name).pipe(
      Effect.map((c) => Option.some(c.value)),
      Effect.orElseSucceed(() => Option.none())
    )
    const restricted = Option.match(certificate, { onNone: () => true, onSome: (c) => c.restricted })
    const namespaces: ReadonlyArray<string> = Option.match(certificate, {
      onNone: () => [],
      onSome: (c) => c.projects
    })
    const own = `user-${owner}`
    return new EngineAccess({
      identity: Option.match(certificate, {
        onNone: () => server.auth_user_name,
        onSome: (c) => c.name === "" ? server.auth_user_name : `${c.name} (${server.auth_user_name.slice(0, 12)})`
      }),
      via: client.socketPath.endsWith(".user") ? `incus-user at ${client.socketPath}` : client.socketPath,
      restricted,
      namespaces,
      defaultNamespace: restricted
        ? Option.fromUndefinedOr(namespaces.includes(own) ? own : namespaces[0])
        : Option.none()
    })
  })
