/**
 * The Incus policy of repoman, without a daemon: how an instance spec
 * becomes Incus config and devices and reads back, the restrictions of
 * repoman's project, and what a profile document means and what the project
 * refuses in it.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  HostPath,
  InstanceSpec,
  Mount,
  NamespaceSpec,
  ProfileSpec,
  SnapshotPolicy,
  Volume
} from "@repoman/core/ContainerRuntime"
import type { IdMapping } from "@repoman/core/IdMapping"
import { ImageRef, MemberName, ProfileName, ProjectName } from "@repoman/core/Ids"
import { MemorySize } from "@repoman/core/ResourceLimits"
import * as Option from "effect/Option"
import { Instance as IncusInstance } from "../src/IncusApi.ts"
import { StorageVolume } from "../src/IncusApi.ts"
import { hostUserOf, instanceSettings, rawIdmap, specProblem, toInstance } from "../src/IncusInstanceConfig.ts"
import { managedConfig } from "../src/IncusLabels.ts"
import { inspect, refusal } from "../src/IncusProfileDocument.ts"
import { adminSteps, projectConfig, toNamespace } from "../src/IncusProjectConfig.ts"
import {
  adoptedConfig,
  repoVolumeConfig,
  toRepoVolume,
  volumeRefusal,
  withSnapshotPolicy
} from "../src/IncusVolumeConfig.ts"
import { instance } from "./fakeIncus.ts"

const hostUser: IdMapping = { _tag: "HostUser", uid: 1500, gid: 1501 }
const name = ProjectName.make("isurus")

const spec = (idMapping?: IdMapping) =>
  new InstanceSpec({
    name,
    image: ImageRef.make("repoman-debian"),
    profiles: [ProfileName.make("default")],
    repo: new HostPath({ source: "/real/repos/isurus", path: "/home/ada/repos/isurus", readOnly: false }),
    mounts: [new Mount({ name: "mount0", source: "/real/data", path: "/data", readOnly: true })],
    env: { FOO: "bar" },
    limits: { cpu: 2, memory: MemorySize.make("4GiB"), processes: 500 },
    ...(idMapping === undefined ? {} : { idMapping }),
    labels: { project: "isurus", repo: "/home/ada/repos/isurus" }
  })

describe("IncusInstanceConfig", () => {
  it("a spec becomes devices, raw.idmap, limits.*, environment.* and user.repoman.* keys, managed", () => {
    const { config, devices } = instanceSettings(spec(hostUser), 1500)
    assert.deepStrictEqual(devices, {
      repo: { type: "disk", source: "/real/repos/isurus", path: "/home/ada/repos/isurus" },
      mount0: { type: "disk", source: "/real/data", path: "/data", readonly: "true" }
    })
    assert.deepStrictEqual(config, {
      "raw.idmap": "uid 1500 1000\ngid 1501 1000",
      "limits.cpu": "2",
      "limits.memory": "4GiB",
      "limits.processes": "500",
      "environment.FOO": "bar",
      "user.repoman.project": "isurus",
      "user.repoman.repo": "/home/ada/repos/isurus",
      "user.repoman.image": "repoman-debian",
      "security.idmap.isolated": "true",
      ...managedConfig,
      "user.repoman.owner": "1500"
    })
  })

  it("shift: every host disk is shifted and there is no raw.idmap", () => {
    const { config, devices } = instanceSettings(spec({ _tag: "Shift" }), 1500)
    assert.isUndefined(config["raw.idmap"])
    assert.deepStrictEqual(Object.values(devices).map((d) => d["shift"]), ["true", "true"])
  })

  it("reads back as it was specified", () => {
    for (const idMapping of [hostUser, { _tag: "Shift" } as const, undefined]) {
      const wanted = spec(idMapping)
      const { config, devices } = instanceSettings(wanted, 1500)
      const read = toInstance(new IncusInstance({ ...instance("isurus"), config, devices } as never), name)
      assert.deepStrictEqual(read.repo, Option.some(wanted.repo))
      assert.deepStrictEqual(read.mounts, wanted.mounts)
      assert.deepStrictEqual(read.env, wanted.env)
      assert.deepStrictEqual(read.limits, wanted.limits)
      assert.deepStrictEqual(read.labels, wanted.labels)
      assert.deepStrictEqual(read.idMapping, Option.fromUndefinedOr(idMapping))
      assert.deepStrictEqual(read.image, Option.some(wanted.image))
      assert.isTrue(read.managed)
    }
  })

  it("an instance made by other means reads back with what repoman can express, not managed", () => {
    const read = toInstance(
      new IncusInstance({
        ...instance("stray"),
        config: { "limits.cpu": "0-3", "limits.memory": "50%", "raw.idmap": "both 0 0", "user.other": "x" },
        devices: { root: { type: "disk", path: "/", pool: "default" }, gpu: { type: "gpu" } }
      } as never),
      ProjectName.make("stray")
    )
    assert.deepStrictEqual(read.limits, { memory: MemorySize.make("50%") })
    assert.deepStrictEqual([read.mounts, read.labels, read.env], [[], {}, {}])
    assert.isTrue(Option.isNone(read.repo))
    assert.isTrue(Option.isNone(read.idMapping))
    assert.isFalse(read.managed)
  })

  it("location: the member on a cluster, none on one machine; a name no member could have reads as none", () => {
    const at = (location: string) =>
      toInstance(new IncusInstance({ ...instance("isurus"), location } as never), name).location
    assert.deepStrictEqual(at("member1"), Option.some(MemberName.make("member1")))
    for (const none of ["none", "", "member1\u001b[2J", "a b", "@group"]) {
      assert.isTrue(Option.isNone(at(none)), JSON.stringify(none))
    }
  })

  it("raw.idmap maps only the host user, and reads back", () => {
    assert.strictEqual(rawIdmap(1000, 1000), "both 1000 1000")
    assert.deepStrictEqual(hostUserOf(rawIdmap(1500, 1501)), Option.some(hostUser))
    assert.isTrue(Option.isNone(hostUserOf("both 0 0")))
    assert.isTrue(Option.isNone(hostUserOf("uid 1500 1000")))
  })

  it("mounts may not take the runtime's own device names", () => {
    const bad = (mountName: string) =>
      specProblem(
        new InstanceSpec({
          ...spec(),
          mounts: [new Mount({ name: mountName, source: "/s", path: "/p", readOnly: false })]
        })
      )
    assert.include(bad("repo") ?? "", "repo")
    assert.include(bad("root") ?? "", "root")
    assert.isUndefined(bad("data"))
  })
})

describe("IncusProjectConfig", () => {
  const nsSpec = (idMapping: IdMapping) =>
    new NamespaceSpec({ name: "repoman", description: "", allowedPaths: ["/r", "/r"], idMapping, rootDiskPool: "d" })

  it("restricts containers, disks to the allowed paths and idmaps to the host user, keeping other keys", () => {
    const config = projectConfig(
      nsSpec(hostUser),
      { "user.keep": "1", "restricted.containers.privilege": "allow" },
      1500
    )
    assert.deepStrictEqual(config, {
      "user.keep": "1",
      "restricted": "true",
      "restricted.containers.privilege": "isolated",
      "restricted.containers.nesting": "block",
      "restricted.containers.lowlevel": "block",
      "restricted.devices.disk": "allow",
      "restricted.snapshots": "allow",
      "restricted.backups": "allow",
      "restricted.cluster.target": "allow",
      "restricted.devices.disk.paths": "/r",
      "restricted.idmap.uid": "1500",
      "restricted.idmap.gid": "1501",
      "features.images": "false",
      "features.profiles": "true",
      ...managedConfig,
      "user.repoman.owner": "1500"
    })
    const ns = toNamespace({ name: "repoman", description: "", config, used_by: [] } as never)
    assert.deepStrictEqual([ns.allowedPaths, ns.idMapping, ns.managed, ns.owner], [
      ["/r"],
      Option.some(hostUser),
      true,
      Option.some(1500)
    ])
  })

  it("shift: no path or idmap restriction (Incus refuses shift on a restricted path)", () => {
    const config = projectConfig(nsSpec({ _tag: "Shift" }), {
      "restricted.devices.disk.paths": "/old",
      "restricted.idmap.uid": "1"
    }, 1500)
    assert.notProperty(config, "restricted.devices.disk.paths")
    assert.notProperty(config, "restricted.idmap.uid")
    assert.strictEqual(config["restricted"], "true")
    const ns = toNamespace({ name: "repoman", description: "", config, used_by: [] } as never)
    assert.deepStrictEqual([ns.allowedPaths, ns.idMapping], [[], Option.some({ _tag: "Shift" } as const)])
  })
})

describe("IncusProfileDocument", () => {
  const doc = (config: Record<string, string>, devices: Record<string, Record<string, string>> = {}) =>
    new ProfileSpec({ description: "", config, devices })

  it("refuses what the restricted project forbids", () => {
    assert.include(refusal(doc({ "security.privileged": "true" }), hostUser) ?? "", "privileged")
    assert.include(refusal(doc({ "raw.lxc": "lxc.apparmor.profile=unconfined" }), hostUser) ?? "", "raw")
    assert.include(refusal(doc({ "raw.idmap": "both 0 0" }), hostUser) ?? "", "raw")
    assert.include(refusal(doc({ "security.nesting": "true" }), hostUser) ?? "", "nesting")
    assert.include(refusal(doc({}, { g: { type: "gpu" } }), hostUser) ?? "", "gpu")
    assert.include(refusal(doc({}, { n: { type: "nic", nictype: "macvlan", parent: "eth0" } }), hostUser) ?? "", "nic")
    assert.include(
      refusal(doc({}, { d: { type: "disk", source: "/srv/x", path: "/x", shift: "true" } }), hostUser) ?? "",
      "shift"
    )
    assert.isUndefined(refusal(doc({}, { d: { type: "disk", source: "/srv/x", path: "/x", shift: "true" } }), {
      _tag: "Shift"
    }))
  })

  it("lets environment, limits, host disks and managed nics through", () => {
    assert.isUndefined(
      refusal(
        doc({ "environment.X": "1", "limits.cpu": "2", "limits.memory": "2GiB", "user.note": "hi" }, {
          d: { type: "disk", source: "/srv/x", path: "/x", readonly: "true" },
          n: { type: "nic", network: "incusbr0", name: "eth0" },
          vol: { type: "disk", source: "cache", pool: "default", path: "/cache" },
          masked: { type: "none" }
        }),
        hostUser
      )
    )
  })

  it("is an allow list: each key and device the issue saw break a project or the host is refused, naming it", () => {
    const refusedConfig: ReadonlyArray<readonly [string, string]> = [
      ["security.syscalls.intercept.mknod", "true"],
      ["security.syscalls.intercept.setxattr", "true"],
      ["boot.host_shutdown_timeout", "1"],
      ["boot.autostart", "true"],
      ["security.privileged", "false"],
      ["security.nesting", "true"],
      ["security.idmap.isolated", "false"],
      ["security.syscalls.deny_default", "false"],
      ["raw.lxc", "lxc.apparmor.profile=unconfined"],
      ["raw.idmap", "both 0 0"],
      ["linux.kernel_modules", "overlay"],
      ["linux.sysctl.user.max_inotify_instances", "100000"],
      ["limits.memory.swap", "true"],
      ["snapshots.schedule", "* * * * *"],
      ["cloud-init.user-data", "#cloud-config"],
      ["volatile.idmap.base", "0"],
      ["user.repoman.owner", "1501"],
      ["user.repoman.managed", "true"],
      ["made.up.key", "x"],
      ["environment.", "x"]
    ]
    for (const [key, value] of refusedConfig) {
      const why = refusal(doc({ [key]: value }, {}), hostUser)
      assert.include(why ?? "(passed)", key, `${key}=${value}`)
      assert.notInclude(why ?? "", "\n")
    }
    const badValues: ReadonlyArray<readonly [string, string]> = [
      ["limits.memory", "lots"],
      ["limits.processes", "0"],
      ["limits.cpu.priority", "11"],
      ["limits.memory.enforce", "maybe"]
    ]
    for (const [key, value] of badValues) assert.include(refusal(doc({ [key]: value }, {}), hostUser) ?? "", value)
    const refusedDevices: ReadonlyArray<Record<string, string>> = [
      { type: "proxy", listen: "unix:/run/repoman.sock", connect: "unix:/run/user/1500/bus" },
      { type: "unix-char", source: "/dev/kvm", path: "/dev/kvm" },
      { type: "unix-block", source: "/dev/sda", path: "/dev/sda" },
      { type: "gpu" },
      { type: "usb" },
      { type: "tpm", path: "/dev/tpm0" },
      { type: "infiniband", parent: "ib0" },
      { type: "disk", source: "/srv/x", path: "/x", recursive: "true" },
      { type: "disk", source: "/srv/x", path: "/x", propagation: "shared" },
      { type: "disk", source: "/srv/x", path: "/x", "raw.mount.options": "rw" },
      { type: "disk", source: "/srv/x", path: "/x", size: "1GiB" },
      { type: "disk", path: "/", pool: "default" },
      { type: "disk", path: "/", pool: "default", size: "1PiB" },
      { type: "disk", source: "/srv/x", path: "relative" },
      { type: "disk", source: "/srv/x", path: "/x", readonly: "maybe" },
      { type: "nic", network: "incusbr0", nictype: "bridged", parent: "br0" }
    ]
    for (const device of refusedDevices) {
      const why = refusal(doc({}, { d: device }), hostUser)
      assert.isDefined(why, JSON.stringify(device))
      assert.include(why ?? "", "\"d\"", JSON.stringify(device))
    }
  })

  it("reads host disks as mounts (pool volumes are not host paths), environment.* and user.repoman.* labels", () => {
    const info = inspect(
      doc({ "environment.X": "1", "user.repoman.link.a": "/f -> /d/f", ...managedConfig }, {
        d: { type: "disk", source: "/d", path: "/d" },
        v: { type: "disk", source: "vol", pool: "default", path: "/v" }
      }),
      hostUser
    )
    assert.deepStrictEqual(info.mounts, [new Mount({ name: "d", source: "/d", path: "/d", readOnly: false })])
    assert.deepStrictEqual(info.env, { X: "1" })
    assert.deepStrictEqual(info.labels, { "link.a": "/f -> /d/f" })
  })
})

describe("IncusVolumeConfig", () => {
  const volumeSpec = new InstanceSpec({
    name,
    image: ImageRef.make("repoman-debian"),
    profiles: [ProfileName.make("default")],
    repo: new Volume({ path: "/home/dev/isurus" })
  })

  it("a volume repo is the repo disk of the instance's own volume in the pool, and reads back as a Volume", () => {
    const { config, devices } = instanceSettings(volumeSpec, 1500, undefined, "fast")
    assert.deepStrictEqual(devices["repo"], { type: "disk", pool: "fast", source: name, path: "/home/dev/isurus" })
    assert.isUndefined(config["raw.idmap"])
    const back = toInstance(new IncusInstance({ ...instance(name), config, devices } as never), name)
    assert.deepStrictEqual(back.repo, Option.some(new Volume({ path: "/home/dev/isurus" })))
    // Another instance's volume on the repo device is not this one's repo.
    const other = { repo: { type: "disk", pool: "fast", source: "someone", path: "/x" } }
    assert.deepStrictEqual(
      toInstance(new IncusInstance({ ...instance(name), devices: other } as never), name).repo,
      Option.none()
    )
    assert.strictEqual(
      specProblem(new InstanceSpec({ ...volumeSpec, gitCover: { gitDir: "/g" } })),
      "a git cover needs a host path repo"
    )
  })

  it("a volume is taken up only when it is repoman's, the owner's and made for that instance", () => {
    const config = repoVolumeConfig(name, 1500)
    assert.deepInclude(config, {
      "initial.uid": "1000",
      "initial.gid": "1000",
      "initial.mode": "0755",
      "user.repoman.instance": name,
      "user.repoman.owner": "1500",
      ...managedConfig
    })
    assert.isUndefined(volumeRefusal(config, name, 1500))
    assert.strictEqual(volumeRefusal(config, name, 1501), "belongs to host uid 1500")
    assert.strictEqual(volumeRefusal(config, "other", 1500), `was made for instance ${name}`)
    assert.strictEqual(volumeRefusal({}, name, 1500), "was not made by repoman")
    assert.strictEqual(volumeRefusal({ ...managedConfig }, name, 1500), "records no owner")
  })

  it("an imported volume becomes the owner's: the archive's owner, labels and schedule do not count", () => {
    const imported = {
      ...repoVolumeConfig("old", 4242),
      "user.repoman.extra": "planted",
      "snapshots.schedule": "* * * * *",
      "volatile.idmap.last": "[]"
    }
    const adopted = adoptedConfig(imported, name, 1500)
    assert.isUndefined(volumeRefusal(adopted, name, 1500))
    assert.isUndefined(adopted["user.repoman.extra"])
    assert.isUndefined(adopted["snapshots.schedule"])
    assert.strictEqual(adopted["volatile.idmap.last"], "[]")
  })

  it("snapshot policies set and take away the schedule keys; a volume reads back with them", () => {
    const base = repoVolumeConfig(name, 1500)
    const set = withSnapshotPolicy(base, new SnapshotPolicy({ schedule: "@daily", expiry: "2w" }))
    assert.deepInclude(set, { "snapshots.schedule": "@daily", "snapshots.expiry": "2w" })
    assert.deepStrictEqual(withSnapshotPolicy(set, undefined), base)
    const volume = toRepoVolume(
      new StorageVolume({
        name,
        type: "custom",
        description: "",
        config: set,
        used_by: [`/1.0/instances/${name}?project=p`, "/1.0/profiles/x?project=p"],
        content_type: "filesystem",
        created_at: "2026-12-01T19:23:10.93818465Z",
        location: "none"
      })
    )
    assert.isTrue(Option.isSome(volume))
    if (Option.isSome(volume)) {
      assert.deepStrictEqual(volume.value.usedBy, [name])
      assert.deepStrictEqual(volume.value.owner, Option.some(1500))
      assert.deepStrictEqual(volume.value.snapshotSchedule, Option.some("@daily"))
    }
    // A volume whose name cannot be an instance's is not a repo volume.
    const odd = toRepoVolume(
      new StorageVolume({
        name: "Not_A_Name",
        type: "custom",
        description: "",
        config: {},
        used_by: [],
        content_type: "filesystem",
        created_at: "",
        location: ""
      })
    )
    assert.isTrue(Option.isNone(odd))
  })
})

describe("what an admin must set for a restricted client", () => {
  const wanted = new NamespaceSpec({
    name: "repoman",
    description: "",
    allowedPaths: ["/home/ada/repos"],
    idMapping: { _tag: "HostUser", uid: 1500, gid: 1500 },
    rootDiskPool: "default"
  })
  const bare = { "restricted": "true", "features.profiles": "true" }
  const commands = (hostPaths: boolean) => adminSteps("repoman", bare, wanted, { hostPaths }).flatMap((s) => s.commands)

  it("a local client (incus-user): disks from the repos root and the user's ids; no volume snapshots needed", () => {
    const local = commands(true)
    assert.include(local, "incus project set repoman restricted.devices.disk=allow")
    assert.include(local, "incus project set repoman restricted.devices.disk.paths=/home/ada/repos")
    assert.include(local, "incus project set repoman restricted.idmap.uid=1500 restricted.idmap.gid=1500")
    assert.isFalse(local.some((c) => c.includes("restricted.snapshots")))
  })

  it("a remote client: snapshots and backups of its repo volumes; no host disk or id of this machine", () => {
    assert.deepStrictEqual(commands(false), [
      "incus project set repoman restricted.snapshots=allow restricted.backups=allow"
    ])
  })
})
