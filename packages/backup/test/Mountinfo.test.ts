import { assert, describe, it } from "@effect/vitest"
import * as Mountinfo from "@repoman/core/Mountinfo"
import { separateMount } from "../src/Mountinfo.ts"

const sample = [
  "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard",
  "50 27 0:50 / /nfs rw,relatime shared:7 master:2 - autofs systemd-1 rw,fd=40,pgrp=1",
  "51 50 0:51 / /nfs rw,relatime shared:8 - nfs4 nas:/export/repos rw,vers=4.2",
  "60 27 0:60 / /mnt/my\\040backup rw,relatime - tmpfs tmp\\040fs rw",
  "61 27 254:0 /srv/x /mnt/bind rw,relatime - ext4 /dev/vda rw"
].join("\n")

describe("Mountinfo.separateMount", () => {
  const entries = Mountinfo.parse(sample)

  it("a backup root counts as mounted only on another filesystem than the repos root, and not on /", () => {
    assert.isTrue(separateMount(entries, "/nfs/repos", "/home/ada/repos").mounted)
    assert.isFalse(separateMount(entries, "/backup", "/home/ada/repos").mounted)
    assert.isFalse(separateMount(entries, "/backup", undefined).mounted)
    // the repos root on the same tmpfs as the backup root
    assert.isFalse(separateMount(entries, "/mnt/my backup/b", "/mnt/my backup/repos").mounted)
    // a bind mount of the root filesystem is the same device: not a separate filesystem
    assert.isFalse(separateMount(entries, "/mnt/bind/b", "/home/ada/repos").mounted)
    // an autofs trigger with nothing mounted over it yet
    const untriggered = entries.filter((e) => e.fsType !== "nfs4")
    assert.isFalse(separateMount(untriggered, "/nfs/repos", "/home/ada/repos").mounted)
  })
})
