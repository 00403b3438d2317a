/**
 * The container user that stands for the host user (uid/gid 1000), and
 * what a session needs to know about the container.
 *
 * `new` records, as instance labels, the uid-1000 user's login shell (from
 * the image's /etc/passwd) and the locales the image has (`locale -a`), once,
 * before any agent has run in it: `shell`, `exec` and `run` then read them
 * from the instance they look up anyway, and never read /etc/passwd or run
 * a probe per session. The container cannot change its instance's labels;
 * the values are checked when recorded and again when read, and only ever
 * go back into the container (as argv and environment).
 *
 * @since 0.1.0
 * @module
 */
import { ContainerRuntime, type Labels } from "@repoman/core/ContainerRuntime"
import { CONTAINER_ID } from "@repoman/core/IdMapping"
import type { ProjectName } from "@repoman/core/Ids"
import { findUser } from "@repoman/core/Passwd"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

/**
 * The uid-1000 user of a container.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContainerUser {
  readonly uid: number
  readonly gid: number
  readonly name: string
  readonly home: string
}

/**
 * The label holding the uid-1000 user's login shell.
 *
 * @since 0.1.0
 * @category labels
 */
export const LOGIN_SHELL_LABEL = "login-shell"

/**
 * The label holding the locales the image has, comma-separated as
 * `locale -a` names them (`C,C.utf8,POSIX,en_US.utf8`).
 *
 * @since 0.1.0
 * @category labels
 */
export const LOCALES_LABEL = "locales"

/**
 * Finds the uid-1000 entry of an /etc/passwd text.
 *
 * @since 0.1.0
 * @category utils
 */
export const fromPasswd = (passwd: string): ContainerUser | undefined => {
  const entry = findUser(passwd, CONTAINER_ID)
  return entry === undefined
    ? undefined
    : { uid: CONTAINER_ID, gid: entry.gid, name: entry.name, home: entry.home ?? `/home/${entry.name}` }
}

/**
 * Reads the uid-1000 user of a container; when the image has none, falls
 * back to `fallbackHome` as home so tools still get a writable HOME.
 *
 * @since 0.1.0
 * @category programs
 */
export const containerUser = (name: ProjectName, fallbackHome: string) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const passwd = yield* runtime.readTextFile(name, "/etc/passwd")
    return Option.flatMap(passwd, (text) => Option.fromUndefinedOr(fromPasswd(text))).pipe(
      Option.getOrElse((): ContainerUser => ({
        uid: CONTAINER_ID,
        gid: CONTAINER_ID,
        name: "user",
        home: fallbackHome
      }))
    )
  })

/** A shell path safe to record and to run: absolute, plain characters. */
const shellPath = /^\/[A-Za-z0-9._+/-]{1,255}$/
/** A locale name as `locale -a` prints it (`en_US.utf8`, `sr_RS@latin`, `C`). */
const localeName = /^[A-Za-z0-9_.+@-]{1,64}$/
const MAX_LOCALES = 2000

/**
 * The labels that record a container's login shell and locales, from its
 * /etc/passwd and the output of `locale -a`; what does not check out is
 * left out.
 *
 * @since 0.1.0
 * @category utils
 */
export const userLabels = (passwd: string, localeList: string): Labels => {
  const shell = findUser(passwd, CONTAINER_ID)?.shell
  const locales = [...new Set(localeList.split("\n").map((l) => l.trim()).filter((l) => localeName.test(l)))]
    .slice(0, MAX_LOCALES)
  return {
    ...(shell !== undefined && shellPath.test(shell) ? { [LOGIN_SHELL_LABEL]: shell } : {}),
    // None recorded reads as "not known": only the built-in locales count then.
    ...(locales.length === 0 ? {} : { [LOCALES_LABEL]: locales.join(",") })
  }
}

/**
 * Reads the container's login shell and locales and records them as
 * labels (see the module's overview). A command the image lacks (no
 * `locale`, as in busybox images) records no locales.
 *
 * @since 0.1.0
 * @category programs
 */
export const recordContainerUser = Effect.fn("recordContainerUser")(function*(name: ProjectName) {
  const runtime = yield* ContainerRuntime
  const [passwd, locales] = yield* Effect.all([
    runtime.readTextFile(name, "/etc/passwd"),
    runtime.exec(name, ["locale", "-a"])
  ], { concurrency: "unbounded" })
  const labels = userLabels(Option.getOrElse(passwd, () => ""), locales.exitCode === 0 ? locales.stdout : "")
  yield* runtime.setLabels(name, labels)
  return labels
})

/**
 * The recorded login shell, if `new` found one.
 *
 * @since 0.1.0
 * @category utils
 */
export const loginShellOf = (labels: Labels): Option.Option<string> =>
  Option.filter(Option.fromUndefinedOr(labels[LOGIN_SHELL_LABEL]), (s) => shellPath.test(s))

/**
 * The recorded locales, or `None` when the container was made before they
 * were recorded.
 *
 * @since 0.1.0
 * @category utils
 */
export const localesOf = (labels: Labels): Option.Option<ReadonlyArray<string>> =>
  Option.map(
    Option.fromUndefinedOr(labels[LOCALES_LABEL]),
    (list) => list.split(",").filter((l) => localeName.test(l))
  )
