/**
 * The certificate and image calls repoman makes: who a restricted client
 * is (`/1.0/certificates`) and whether a project can make instances from a
 * local image (`/1.0/images`).
 *
 * @since 0.1.0
 * @module
 */
import * as Effect from "effect/Effect"
import { Certificate, ImageAlias, type Versioned } from "./IncusApi.ts"
import type { IncusError } from "./IncusError.ts"
import { seg, type Transport } from "./IncusTransport.ts"

/**
 * The certificate and image operations of the client.
 *
 * @since 0.1.0
 * @category models
 */
export interface ImagesClient {
  /** `GET /1.0/certificates/FINGERPRINT`: a trusted certificate (yours, for a restricted client). */
  readonly getCertificate: (fingerprint: string) => Effect.Effect<Versioned<Certificate>, IncusError>
  /** `GET /1.0/images/aliases/NAME?project=P`: an image alias as project `P` sees it. */
  readonly getImageAlias: (project: string, name: string) => Effect.Effect<Versioned<ImageAlias>, IncusError>
  /** `GET /1.0/images/FINGERPRINT?project=P`: whether project `P` sees the image (its fingerprint back). */
  readonly getImage: (project: string, fingerprint: string) => Effect.Effect<string, IncusError>
}

/**
 * The certificate and image calls over `transport`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (transport: Transport): ImagesClient => ({
  getCertificate: Effect.fn("IncusClient.getCertificate")(function*(fingerprint) {
    return yield* transport.getSync({ method: "GET", path: `/1.0/certificates/${seg(fingerprint)}` }, Certificate)
  }),

  getImageAlias: Effect.fn("IncusClient.getImageAlias")(function*(project, name) {
    return yield* transport.getSync({ method: "GET", path: `/1.0/images/aliases/${seg(name)}`, project }, ImageAlias)
  }),

  getImage: Effect.fn("IncusClient.getImage")(function*(project, fingerprint) {
    yield* transport.submit({ method: "GET", path: `/1.0/images/${seg(fingerprint)}`, project })
    return fingerprint
  })
})
