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

  it("a backup root counts as mounted only on another filesystem than the repos root, and not on /", () => {
    assert.isTrue(Mountinfo.separateMount(entries, "/nfs/repos", "/home/ada/repos").mounted)
    assert.isFalse(Mountinfo.separateMount(entries, "/backup", "/home/ada/repos").mounted)
    assert.isFalse(Mountinfo.separateMount(entries, "/backup", undefined).mounted)
    // the repos root on the same tmpfs as the backup root
    assert.isFalse(Mountinfo.separateMount(entries, "/mnt/my backup/b", "/mnt/my backup/repos").mounted)
    // a bind mount of the root filesystem is the same device: not a separate filesystem
    assert.isFalse(Mountinfo.separateMount(entries, "/mnt/bind/b", "/home/ada/repos").mounted)
    // an autofs trigger with nothing mounted over it yet
    const untriggered = entries.filter((e) => e.fsType !== "nfs4")
    assert.isFalse(Mountinfo.separateMount(untriggered, "/nfs/repos", "/home/ada/repos").mounted)
  })
})
