/**
 * Trees for the checkpoint tests: a repo-like tree with the awkward cases, a
 * scripted agent session that changes it every way an agent can, and a
 * digest of a tree by a plain lstat walk (independent of the code under test).
 */
import { spawnSync } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"

/** Every entry of a tree: (path, type, mode, sha256 of the bytes or the symlink target, mtime to the µs). */
export const treeMap = (root: string, withMtime = true): Map<string, string> => {
  const out = new Map<string, string>()
  const walk = (dir: Buffer, rel: string) => {
    const names = (fs.readdirSync(dir, { encoding: "buffer" }) as Array<Buffer>).sort(Buffer.compare)
    for (const name of names) {
      const p = Buffer.concat([dir, Buffer.from("/"), name])
      const r = rel === "" ? name.toString("latin1") : `${rel}/${name.toString("latin1")}`
      const st = fs.lstatSync(p, { bigint: true })
      const mode = (st.mode & 0o7777n).toString(8)
      const mt = withMtime ? ` m${st.mtimeNs / 1000n}` : ""
      if (st.isSymbolicLink()) out.set(r, `l ${fs.readlinkSync(p, { encoding: "latin1" })}${mt}`)
      else if (st.isDirectory()) {
        out.set(r, `d ${mode}${mt}`)
        walk(p, r)
      } else if (st.isFile()) {
        out.set(r, `f ${mode} ${crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex")}${mt}`)
      } else out.set(r, `special ${mode}`)
    }
  }
  walk(Buffer.from(root), "")
  return out
}

/** One hash of `treeMap`. */
export const treeDigest = (root: string, withMtime = true): string =>
  crypto.createHash("sha256").update([...treeMap(root, withMtime)].map(([k, v]) => `${k}\0${v}`).join("\n")).digest(
    "hex"
  )

/** The differences between two tree maps, one line each (empty when equal). */
export const treeDifferences = (a: Map<string, string>, b: Map<string, string>): Array<string> => {
  const out: Array<string> = []
  for (const [k, v] of a) if (b.get(k) !== v) out.push(`${JSON.stringify(k)}: ${v} -> ${b.get(k)}`)
  for (const [k, v] of b) if (!a.has(k)) out.push(`${JSON.stringify(k)}: (none) -> ${v}`)
  return out
}

let counter = 0
const made: Array<string> = []

/** A fresh empty directory under `base` (removed by {@link removeFreshDirs}). */
export const freshDir = (base: string, name: string): string => {
  const d = `${base}/${name}-${process.pid}-${counter++}-${Math.random().toString(36).slice(2, 6)}`
  fs.mkdirSync(d, { recursive: true })
  made.push(d)
  return d
}

/** Removes the directories {@link freshDir} made (read-only btrfs snapshots in them are made writable first). */
export const removeFreshDirs = (): void => {
  for (const d of made.splice(0)) {
    try {
      fs.rmSync(d, { recursive: true, force: true })
    } catch {
      // The snapshots hold the agent's symlinks (one to /home, say): walk without following any.
      const walk = (dir: string): void => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
          if (!entry.isDirectory()) continue
          const path = `${dir}/${entry.name}`
          if (/\/snapshots\/[^/]+$/.test(path)) {
            spawnSync("btrfs", ["property", "set", "-ts", path, "ro", "false"], { stdio: "ignore" })
          } else walk(path)
        }
      }
      walk(d)
      fs.rmSync(d, { recursive: true, force: true })
    }
  }
}

/** A name with a newline, an escape sequence, a backslash and a byte that is not UTF-8. */
export const oddName = "odd\nname\x1b[31m \\ \xff.txt"

/** A small repo-like tree with the awkward cases. */
export const seedTree = (root: string): void => {
  fs.mkdirSync(`${root}/src/deep/er`, { recursive: true })
  fs.mkdirSync(`${root}/.git/objects`, { recursive: true })
  fs.mkdirSync(`${root}/empty-dir`)
  fs.mkdirSync(`${root}/node_modules/.bin`, { recursive: true })
  fs.writeFileSync(`${root}/README.md`, "# hello\n")
  fs.writeFileSync(`${root}/src/a.ts`, "export const a = 1\n")
  fs.writeFileSync(`${root}/src/deep/er/b.ts`, "export const b = 2\n")
  fs.writeFileSync(`${root}/src/big.bin`, crypto.randomBytes(300_000))
  fs.writeFileSync(`${root}/.git/HEAD`, "ref: refs/heads/main\n")
  fs.writeFileSync(`${root}/.git/objects/pack`, crypto.randomBytes(5000))
  fs.writeFileSync(`${root}/.env`, "IGNORED=1\n")
  fs.writeFileSync(`${root}/run.sh`, "#!/bin/sh\necho hi\n", { mode: 0o755 })
  fs.writeFileSync(`${root}/private`, "secret-ish\n", { mode: 0o600 })
  fs.writeFileSync(Buffer.from(`${root}/${oddName}`, "latin1"), "weird name\n")
  fs.writeFileSync(`${root}/ünïcode-名前.txt`, "utf8 name\n")
  fs.symlinkSync("../src/a.ts", `${root}/node_modules/.bin/a`)
  fs.symlinkSync("/etc/passwd", `${root}/abs-link`)
  fs.symlinkSync("dangling-target", `${root}/dangling`)
  fs.writeFileSync(`${root}/will-become-dir`, "file\n")
  fs.mkdirSync(`${root}/will-become-file`)
  fs.writeFileSync(`${root}/will-become-file/inner`, "inner\n")
  fs.writeFileSync(`${root}/hard1`, "linked\n")
  fs.linkSync(`${root}/hard1`, `${root}/hard2`)
  const old = new Date("2020-01-02T03:04:05.678Z")
  fs.utimesSync(`${root}/README.md`, old, old)
}

/** A scripted agent session: deletes, edits, new files, a symlink, mode changes, file<->dir swaps. */
export const agentSession = (root: string): void => {
  fs.rmSync(`${root}/src/deep`, { recursive: true })
  fs.rmSync(`${root}/.env`)
  fs.appendFileSync(`${root}/src/a.ts`, "// edited\n")
  fs.writeFileSync(`${root}/src/new.ts`, "new file\n")
  fs.mkdirSync(`${root}/newdir/sub`, { recursive: true })
  fs.writeFileSync(`${root}/newdir/sub/x`, "x\n")
  fs.symlinkSync("/home", `${root}/evil-link`)
  fs.rmSync(`${root}/node_modules/.bin/a`)
  fs.symlinkSync("../../README.md", `${root}/node_modules/.bin/a`)
  fs.chmodSync(`${root}/run.sh`, 0o644)
  fs.chmodSync(`${root}/private`, 0o666)
  fs.rmSync(`${root}/will-become-dir`)
  fs.mkdirSync(`${root}/will-become-dir`)
  fs.writeFileSync(`${root}/will-become-dir/f`, "now a dir\n")
  fs.rmSync(`${root}/will-become-file`, { recursive: true })
  fs.writeFileSync(`${root}/will-become-file`, "now a file\n")
  fs.writeFileSync(`${root}/.git/HEAD`, "ref: refs/heads/evil\n")
  fs.rmSync(`${root}/empty-dir`, { recursive: true })
  fs.appendFileSync(`${root}/hard2`, "more\n")
  const fd = fs.openSync(`${root}/src/big.bin`, "r+")
  const byte = Buffer.alloc(1)
  fs.readSync(fd, byte, 0, 1, 1000)
  byte[0] = (byte[0] ?? 0) ^ 0xff
  fs.writeSync(fd, byte, 0, 1, 1000)
  fs.closeSync(fd)
  const old = fs.statSync(`${root}/README.md`)
  fs.writeFileSync(`${root}/README.md`, "# HELLO\n") // the same size ...
  fs.utimesSync(`${root}/README.md`, old.atime, old.mtime) // ... and the old mtime: only ctime tells
}

/** Waits `ms` (so that ctimes of successive steps differ). */
export const pause = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}
