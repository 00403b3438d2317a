import { assert, describe, it } from "@effect/vitest"
import * as GitConfig from "../src/GitConfig.ts"

describe("GitConfig", () => {
  it("parses `git config --null --list` output, bare booleans included", () => {
    const entries = GitConfig.parseList("core.bare\nfalse\0core.fsmonitor\ntouch /tmp/x; false\0http.extra\0")
    assert.deepStrictEqual(entries, [
      { key: "core.bare", value: "false" },
      { key: "core.fsmonitor", value: "touch /tmp/x; false" },
      { key: "http.extra", value: undefined }
    ])
  })

  it("a sealed config keeps only allowlisted keys with valid values, and is never bare", () => {
    const text = GitConfig.sealedConfig([
      { key: "core.repositoryformatversion", value: "1" },
      { key: "extensions.objectformat", value: "sha256" },
      { key: "core.filemode", value: "true" },
      { key: "core.logallrefupdates", value: "always" },
      { key: "core.bare", value: "true" },
      { key: "core.fsmonitor", value: "touch /tmp/owned" },
      { key: "core.hookspath", value: "/tmp/hooks" },
      { key: "include.path", value: "/tmp/evil.cfg" },
      { key: "remote.origin.url", value: "/home/ada/repos/x" },
      { key: "extensions.partialclone", value: "origin" },
      { key: "core.symlinks", value: "yes; rm -rf /" },
      { key: "core.repositoryformatversion", value: "7" }
    ])
    assert.strictEqual(
      text,
      "[core]\n\trepositoryformatversion = 1\n\tfilemode = true\n\tlogallrefupdates = always\n\tbare = false\n" +
        "[extensions]\n\tobjectformat = sha256\n"
    )
  })

  it("names the entries that make git run a program", () => {
    const entries = GitConfig.parseList([
      "core.fsmonitor\ntouch /tmp/pwned",
      "core.fsmonitor\nfalse",
      "core.hookspath\n.husky",
      "core.sshcommand\nssh -oProxyCommand=x",
      "core.pager\nless",
      "diff.external\n/x",
      "diff.evil.textconv\ncat",
      "filter.lfs.process\ngit-lfs filter-process",
      "merge.ours.driver\ntrue",
      "credential.helper\n!touch /tmp/x",
      "credential.https://example.com.helper\nstore",
      "gpg.program\n/x",
      "gpg.ssh.program\n/x",
      "uploadpack.packobjectshook\n/x",
      "include.path\n/tmp/x.cfg",
      "includeif.gitdir:/x/.path\n/tmp/y.cfg",
      "alias.st\nstatus",
      "alias.pwn\n!touch /tmp/x",
      "protocol.ext.allow\nalways",
      "remote.origin.uploadpack\n/x",
      "core.worktree\n/elsewhere",
      "user.email\nada@example.com",
      "remote.origin.url\ngit@example.com:x.git",
      "branch.main.remote\norigin"
    ].join("\0"))
    assert.deepStrictEqual(GitConfig.executingEntries(entries).map((e) => e.key), [
      "core.fsmonitor",
      "core.hookspath",
      "core.sshcommand",
      "core.pager",
      "diff.external",
      "diff.evil.textconv",
      "filter.lfs.process",
      "merge.ours.driver",
      "credential.helper",
      "credential.https://example.com.helper",
      "gpg.program",
      "gpg.ssh.program",
      "uploadpack.packobjectshook",
      "include.path",
      "includeif.gitdir:/x/.path",
      "alias.pwn",
      "protocol.ext.allow",
      "remote.origin.uploadpack",
      "core.worktree"
    ])
  })
})
