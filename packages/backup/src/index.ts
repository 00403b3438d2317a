/**
 * @repoman/backup
 *
 * @since 0.1.0
 */
export {}
