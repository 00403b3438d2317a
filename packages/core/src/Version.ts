/**
 * The version every `@repoman/*` package shares (kept equal to the packages' package.json by a test).
 *
 * @since 0.1.0
 * @category constants
 */
export const version = "0.1.0"
