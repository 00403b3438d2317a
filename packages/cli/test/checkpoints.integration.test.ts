/**
 * Issue 14 end to end, through the real `repoman` executable and a real
 * container, as the non-root test user: `repoman exec` takes a checkpoint,
 * a scripted agent session in the container changes the repo every way an
 * agent can (deletes, edits, new files, symlinks, mode changes, a file and a
 * directory swapped, a write through a hard link, a same-size rewrite with
 * the old mtime put back), `diff` names it all, and `undo` gives back a
 * tree identical to the checkpoint by hash (and the undo of the undo gives
 * back the agent's).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { seedTree, treeDifferences, treeMap } from "../../checkpoints/test/tree.ts"
import { busybox, IntegrationLayer, sandbox } from "./integration.ts"

/** The agent's session, as a shell script run in the container (busybox sh) as uid 1000. */
const agentScript = [
  "set -e",
  "rm -rf src/deep .env empty-dir",
  "echo '// edited' >> src/a.ts",
  "echo 'new file' > src/new.ts",
  "mkdir -p newdir/sub && echo x > newdir/sub/x",
  "ln -s /home evil-link",
  "rm node_modules/.bin/a && ln -s ../../README.md node_modules/.bin/a",
  "chmod 644 run.sh && chmod 666 private",
  "rm will-become-dir && mkdir will-become-dir && echo 'now a dir' > will-become-dir/f",
  "rm -r will-become-file && echo 'now a file' > will-become-file",
  "echo 'ref: refs/heads/evil' > .git/HEAD",
  "echo more >> hard2",
  "printf '\\377' | dd of=src/big.bin bs=1 seek=1000 conv=notrunc 2>/dev/null",
  "touch -r README.md /tmp/old && printf '# HELLO\\n' > README.md && touch -r /tmp/old README.md",
  "printf 'agent was here' > \"$(printf 'name\\033[2Jwith-escape')\""
].join("\n")

describe("checkpoints against a real container", () => {
  it.live(
    "exec takes a checkpoint; undo after a scripted agent session gives the tree back identical by hash",
    () =>
      Effect.gen(function*() {
        const { reposRoot, repoman, setup } = yield* sandbox
        const repo = `${reposRoot}/isurus`
        fs.mkdirSync(repo)
        seedTree(repo)
        assert.strictEqual((yield* setup).code, 0)
        // The seeded .git is a stand-in (HEAD and a pack), not a repository git can read: not sealable.
        const made = yield* repoman(["new", "isurus", "--image", busybox, "--git-mode", "shared"])
        assert.strictEqual(made.code, 0, made.stderr)
        const before = treeMap(repo)

        const session = yield* repoman(["exec", "isurus", "--", "sh", "-c", agentScript])
        assert.strictEqual(session.code, 0, session.stderr)
        const agentState = treeMap(repo)
        assert.isAbove(treeDifferences(before, agentState).length, 15, "the session changed the repo")

        const listed = yield* repoman(["checkpoints", "isurus", "--json"])
        const checkpoints = (JSON.parse(listed.stdout) as { checkpoints: Array<{ id: string; label: string }> })
          .checkpoints
        assert.strictEqual(checkpoints.length, 1)
        assert.match(checkpoints[0]?.label ?? "", /^sh -c set -e/)

        const diff = yield* repoman(["diff", "isurus"])
        assert.strictEqual(diff.code, 0, diff.stderr)
        for (
          const line of [
            "M  src/a.ts",
            "M  README.md",
            "M  src/big.bin",
            "M  hard1",
            "D  .env",
            "D  empty-dir/",
            "A  src/new.ts",
            "A  evil-link",
            "L  node_modules/.bin/a (../src/a.ts -> ../../README.md)",
            "m  run.sh (0755 -> 0644)",
            "T  will-become-dir/ (file -> directory)",
            "T  will-become-file (directory -> file)",
            "A  name\\x1b[2Jwith-escape"
          ]
        ) assert.include(diff.stdout.split("\n"), line)
        assert.notInclude(diff.stdout, "\x1b", "no escape sequence from the container reaches the terminal")

        const undone = yield* repoman(["undo", "isurus"])
        assert.strictEqual(undone.code, 0, undone.stderr)
        assert.include(undone.stdout, "isurus was frozen while the repo was written, and thawed after")
        assert.deepStrictEqual(treeDifferences(before, treeMap(repo)), [])
        const running = yield* repoman(["exec", "isurus", "--no-checkpoint", "--", "true"])
        assert.strictEqual(running.code, 0, "the container runs again after the undo")

        // The undo of the undo: back to what the agent left.
        const redo = undone.stdout.match(/'repoman undo isurus (\S+)' undoes this/)?.[1] ?? ""
        const again = yield* repoman(["undo", "isurus", redo])
        assert.strictEqual(again.code, 0, again.stderr)
        assert.deepStrictEqual(treeDifferences(agentState, treeMap(repo)), [])
      }).pipe(Effect.scoped, Effect.provide(IntegrationLayer)),
    300_000
  )
})
