/**
 * Owners against the memory runtime: what is the user's, what is another
 * user's, what no repoman made, and the objects of older versions (adopted
 * only on evidence).
 */
import { assert, describe, it } from "@effect/vitest"
import {
  ContainerRuntime,
  EngineAccess,
  InstanceSpec,
  NamespaceSpec,
  ProfileSpec
} from "@repoman/core/ContainerRuntime"
import * as RuntimeMemory from "@repoman/core/ContainerRuntimeMemory"
import { ImageRef, ProfileName, ProjectName } from "@repoman/core/Ids"
import { ownership } from "@repoman/core/Ownership"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { ownInstance, requireOwnNamespace, requireOwnProfile } from "../src/Owners.ts"

const me = 1500
const hostUser = (uid: number) => ({ _tag: "HostUser", uid, gid: uid }) as const
const spec = (name: string, uid = me) =>
  new InstanceSpec({
    name: ProjectName.make(name),
    image: ImageRef.make("img"),
    profiles: [ProfileName.make("default")],
    idMapping: hostUser(uid)
  })

const world = Effect.gen(function*() {
  const runtime = yield* RuntimeMemory.make({ namespace: "repoman", owner: me })
  yield* runtime.create(spec("mine"))
  yield* runtime.createForeign(spec("theirs", 1501), { managed: true, owner: Option.some(1501) })
  yield* runtime.createForeign(spec("handmade"))
  yield* runtime.createForeign(spec("legacy-mine"), { managed: true, owner: Option.none() })
  yield* runtime.createForeign(spec("legacy-theirs", 1501), { managed: true, owner: Option.none() })
  return { runtime, layer: Layer.succeed(ContainerRuntime, runtime) }
})

const refusal = <A, E extends { readonly message: string }>(effect: Effect.Effect<A, E>) =>
  Effect.match(effect, { onFailure: (e) => e.message, onSuccess: () => "ok" })

describe("ownership", () => {
  it("an owner recorded for someone else wins; no managed key is not repoman's; no owner needs evidence", () => {
    assert.deepStrictEqual(ownership({ managed: true, owner: Option.some(me) }, me, false), { _tag: "Own" })
    assert.deepStrictEqual(ownership({ managed: false, owner: Option.some(1501) }, me, true), {
      _tag: "OtherUser",
      owner: 1501
    })
    assert.deepStrictEqual(ownership({ managed: false, owner: Option.none() }, me, true), { _tag: "NotRepoman" })
    assert.deepStrictEqual(ownership({ managed: true, owner: Option.none() }, me, true), { _tag: "Legacy" })
    assert.deepStrictEqual(ownership({ managed: true, owner: Option.none() }, me, false), { _tag: "Unproven" })
  })
})

describe("Owners", () => {
  it.effect("containers: own ones pass, others are refused in one line, a legacy one is adopted on evidence", () =>
    Effect.gen(function*() {
      const { layer, runtime } = yield* world
      const check = (name: string) => refusal(ownInstance(ProjectName.make(name)).pipe(Effect.provide(layer)))
      assert.strictEqual(yield* check("mine"), "ok")
      assert.include(yield* check("theirs"), "belongs to another user (host uid 1501)")
      assert.include(yield* check("handmade"), "was not made by repoman")
      assert.include(yield* check("legacy-theirs"), "recorded no owner")
      for (const name of ["theirs", "handmade", "legacy-theirs"]) {
        assert.notInclude(yield* check(name), "\n")
      }
      assert.isTrue(Option.isNone((yield* runtime.get(ProjectName.make("legacy-mine"))).owner))
      assert.strictEqual(yield* check("legacy-mine"), "ok")
      assert.deepStrictEqual((yield* runtime.get(ProjectName.make("legacy-mine"))).owner, Option.some(me))
      // Nothing was recorded on what was refused.
      assert.isTrue(Option.isNone((yield* runtime.get(ProjectName.make("legacy-theirs"))).owner))
    }))

  it.effect("profiles: another user's is refused; a legacy one in the user's namespace is adopted", () =>
    Effect.gen(function*() {
      const { layer, runtime } = yield* world
      const empty = new ProfileSpec({ description: "", config: {}, devices: {} })
      yield* runtime.putForeignProfile(ProfileName.make("p-theirs"), empty, { managed: true, owner: Option.some(1501) })
      yield* runtime.putForeignProfile(ProfileName.make("p-old"), empty, { managed: true, owner: Option.none() })
      const check = (name: string) =>
        refusal(
          runtime.getProfile(ProfileName.make(name)).pipe(Effect.flatMap(requireOwnProfile), Effect.provide(layer))
        )
      assert.include(yield* check("p-theirs"), "host uid 1501")
      assert.strictEqual(yield* check("p-old"), "ok")
      assert.deepStrictEqual((yield* runtime.getProfile(ProfileName.make("p-old"))).owner, Option.some(me))
      // The memory runtime also refuses to overwrite another user's profile.
      const put = yield* Effect.flip(runtime.putProfile(ProfileName.make("p-theirs"), empty))
      assert.strictEqual(put.reason._tag, "Conflict")
    }))

  it.effect("namespaces: another user's and a hand-made one are refused; a restricted client's granted one is its own", () =>
    Effect.gen(function*() {
      const { layer, runtime } = yield* world
      const ns = (name: string, uid: number) =>
        new NamespaceSpec({ name, description: "", allowedPaths: [], idMapping: hostUser(uid), rootDiskPool: "d" })
      yield* runtime.putForeignNamespace(ns("theirs", 1501), { managed: true, owner: Option.some(1501) })
      yield* runtime.putForeignNamespace(ns("plain", me), { managed: false, owner: Option.none() })
      yield* runtime.putForeignNamespace(ns("old", me), { managed: true, owner: Option.none() })
      const check = (name: string) => refusal(requireOwnNamespace(name).pipe(Effect.provide(layer)))
      assert.strictEqual(yield* check("repoman"), "ok")
      assert.include(yield* check("theirs"), "Incus project theirs belongs to another user (host uid 1501)")
      assert.include(yield* check("plain"), "was not made by repoman")
      assert.strictEqual(yield* check("old"), "ok")
      assert.deepStrictEqual((yield* runtime.getNamespace("old")).owner, Option.some(me))
      // ensureNamespace never takes them over either.
      const taken = yield* Effect.flip(runtime.ensureNamespace(ns("theirs", me)))
      assert.strictEqual(taken.reason._tag, "Conflict")

      // A restricted client: the namespace an admin granted it is its own, though no repoman made it.
      const restricted = yield* RuntimeMemory.make({
        namespace: "user-1500",
        owner: me,
        namespaceOrigin: { managed: false, owner: Option.none() },
        access: new EngineAccess({
          identity: "incus-user-1500",
          via: "incus-user",
          restricted: true,
          namespaces: ["user-1500"],
          defaultNamespace: Option.some("user-1500")
        })
      })
      const granted = yield* refusal(
        requireOwnNamespace("user-1500").pipe(Effect.provide(Layer.succeed(ContainerRuntime, restricted)))
      )
      assert.strictEqual(granted, "ok")
    }))
})
