import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { expandHome } from "../src/ConfigPaths.ts"
import { ImageRef, MemberName, ProfileName, ProjectName, RepoDir } from "../src/Ids.ts"

const valid = <S extends Schema.Top>(schema: S) => Schema.is(schema)

describe("ProjectName (Incus instance rules, starting with a letter)", () => {
  it.effect("accepts", () =>
    Effect.sync(() => {
      for (const n of ["a", "isurus", "My-Project-2", "x".repeat(63), "a1-b2"]) {
        assert.isTrue(valid(ProjectName)(n), n)
      }
    }))
  it.effect("rejects", () =>
    Effect.sync(() => {
      for (const n of ["", "1abc", "-abc", "abc-", "a_b", "a.b", "a b", "x".repeat(64), "ä", "a/b", "123"]) {
        assert.isFalse(valid(ProjectName)(n), n)
      }
    }))
})

describe("RepoDir (one path segment)", () => {
  it.effect("accepts", () =>
    Effect.sync(() => {
      for (const n of ["repo", "isurus-project", "a b", "x.y", "ümlaut", "my_repo"]) assert.isTrue(valid(RepoDir)(n), n)
    }))
  it.effect("rejects", () =>
    Effect.sync(() => {
      for (const n of ["", ".", "..", ".hidden", "a/b", "/abs", "../up", "a\0b", "x".repeat(256)]) {
        assert.isFalse(valid(RepoDir)(n), JSON.stringify(n))
      }
    }))
})

describe("ImageRef and ProfileName", () => {
  it.effect("images", () =>
    Effect.sync(() => {
      for (const n of ["images:ubuntu/26.04/cloud", "debian-test", "local:busybox", "aa734b6ebbdb"]) {
        assert.isTrue(valid(ImageRef)(n), n)
      }
      for (const n of ["", "a b", "images:", ":x", "x;rm -rf /"]) assert.isFalse(valid(ImageRef)(n), n)
    }))
  it.effect("profiles", () =>
    Effect.sync(() => {
      for (const n of ["default", "claude-share", "gitconfig-ro", "a.b_c"]) assert.isTrue(valid(ProfileName)(n), n)
      for (const n of ["", "-x", "a/b", "a b", "x".repeat(64)]) assert.isFalse(valid(ProfileName)(n), n)
    }))
})

describe("MemberName (a host name, as Incus requires of cluster members)", () => {
  it.effect("accepts", () =>
    Effect.sync(() => {
      for (const n of ["member1", "m", "node-2.lab", "1abc", "x".repeat(63)]) assert.isTrue(valid(MemberName)(n), n)
    }))
  it.effect("rejects what could be mistaken for a URL part, a group or a path", () =>
    Effect.sync(() => {
      for (
        const n of ["", "@default", "-m", "m-", ".m", "m.", "a..b", "a/b", "a b", "m&x=1", "m?", "ä", "x".repeat(64)]
      ) {
        assert.isFalse(valid(MemberName)(n), n)
      }
    }))
})

describe("expandHome", () => {
  it.effect("expands a leading ~ only", () =>
    Effect.sync(() => {
      assert.strictEqual(expandHome("~", "/home/ada"), "/home/ada")
      assert.strictEqual(expandHome("~/repos", "/home/ada"), "/home/ada/repos")
      assert.strictEqual(expandHome("/srv/~/x", "/home/ada"), "/srv/~/x")
      assert.strictEqual(expandHome("~bob/x", "/home/ada"), "~bob/x")
    }))
})
