import { assert, describe, it } from "@effect/vitest"
import * as Option from "effect/Option"
import * as Mountinfo from "../src/Mountinfo.ts"

const sample = [
  "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard",
  "42 27 0:39 / /var/lib/incus/shmounts rw,relatime shared:1 - tmpfs tmpfs rw,size=100k,mode=711",
  "50 27 0:50 / /nfs rw,relatime shared:7 master:2 - autofs systemd-1 rw,fd=40,pgrp=1",
  "51 50 0:51 / /nfs rw,relatime shared:8 - nfs4 nas:/export/repos rw,vers=4.2",
  "60 27 0:60 / /mnt/my\\040backup rw,relatime - tmpfs tmp\\040fs rw",
  "61 27 254:0 /srv/x /mnt/bind rw,relatime - ext4 /dev/vda rw",
  "garbage line"
].join("\n")

describe("Mountinfo", () => {
  const entries = Mountinfo.parse(sample)

  it("parses fields, optional fields and octal escapes; skips malformed lines", () => {
    assert.strictEqual(entries.length, 6)
    const shm = entries[1]
    assert.deepStrictEqual(
      [shm?.id, shm?.parentId, shm?.device, shm?.mountPoint, shm?.fsType, shm?.source],
      [42, 27, "0:39", "/var/lib/incus/shmounts", "tmpfs", "tmpfs"]
    )
    assert.strictEqual(entries[4]?.mountPoint, "/mnt/my backup")
    assert.strictEqual(entries[4]?.source, "tmp fs")
    assert.deepStrictEqual(entries[2]?.options, ["rw", "relatime"])
  })

  it("finds the mount holding a path: longest mount point, and the NFS mount over its autofs trigger", () => {
    assert.strictEqual(Option.getOrThrow(Mountinfo.mountOf(entries, "/nfs/repos/a")).fsType, "nfs4")
    assert.strictEqual(Option.getOrThrow(Mountinfo.mountOf(entries, "/nfsother")).mountPoint, "/")
    assert.strictEqual(Option.getOrThrow(Mountinfo.mountOf(entries, "/mnt/my backup/x")).fsType, "tmpfs")
  })
})

describe("Mountinfo.locate and the peer group", () => {
  const table = Mountinfo.parse([
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
    "40 27 254:1 / /home rw,relatime shared:3 - ext4 /dev/vdb rw",
    "129 117 254:1 /ada/repos/x /home/ada/repos/x rw,relatime shared:60 - ext4 /dev/vdb rw",
    "130 129 254:1 /ada/.local/state/repoman/git/x /home/ada/repos/x/.git rw shared:61 master:4 - ext4 /dev/vdb rw"
  ].join("\n"))

  it("reads the root field and the shared peer group", () => {
    assert.deepStrictEqual(table.map((e) => e.root), ["/", "/", "/ada/repos/x", "/ada/.local/state/repoman/git/x"])
    assert.deepStrictEqual(table.map((e) => Option.getOrNull(e.sharedGroup)), [null, 3, 60, 61])
  })

  it("locates a host path within its filesystem, by the mount holding it", () => {
    const host = table.slice(0, 2)
    assert.deepStrictEqual(Option.getOrThrow(Mountinfo.locate(host, "/home/ada/repos/x")), {
      device: "254:1",
      root: "/ada/repos/x"
    })
    assert.deepStrictEqual(Option.getOrThrow(Mountinfo.locate(host, "/srv/a")), { device: "254:0", root: "/srv/a" })
    assert.deepStrictEqual(Option.getOrThrow(Mountinfo.locate(host, "/home")), { device: "254:1", root: "/" })
  })

  it("isWithin compares whole path components", () => {
    assert.isTrue(Mountinfo.isWithin("/a/b", "/a"))
    assert.isTrue(Mountinfo.isWithin("/a", "/a"))
    assert.isFalse(Mountinfo.isWithin("/ab", "/a"))
    assert.isTrue(Mountinfo.isWithin("/anything", "/"))
  })
})
