/**
 * The version of the `@repoman` packages: what `repoman --version` prints and
 * what repoman records on the Incus objects it makes.
 *
 * @since 0.1.0
 * @module
 */

/**
 * The version every `@repoman/*` package shares (kept equal to the packages' package.json by a test).
 *
 * @since 0.1.0
 * @category constants
 */
export const version = "0.1.0"
