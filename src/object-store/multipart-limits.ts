/** S3's limits on multipart uploads, which every upload in parts (object copies, database dumps) must respect. */
const MIB = 1024 * 1024;

/** The smallest part S3 accepts (except the last). */
export const MIN_PART_SIZE = 5 * MIB;
/** The largest part S3 accepts. */
export const MAX_PART_SIZE = 5 * 1024 * MIB;
/** The most parts one upload may have. */
export const MAX_PARTS = 10_000;
