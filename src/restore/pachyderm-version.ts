/**
 * Pachyderm versions as restores compare them: `2.11.6`, `v2.11.6`, `2.12.0-rc.1`. Only the numeric
 * major.minor.patch and the presence of a pre-release tag matter (a pre-release sorts before its release).
 */
export interface PachydermVersion {
  major: number;
  minor: number;
  patch: number;
  prerelease: string;
  text: string;
}

const VERSION = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** The version in `text`, or undefined when it is not one (an image digest, `latest`, a custom tag). */
export function parsePachydermVersion(text: string | undefined): PachydermVersion | undefined {
  if (!text) return undefined;
  const m = VERSION.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), prerelease: m[4] ?? '', text: text.trim().replace(/^v/, '') };
}

/** Negative when a is older than b, zero when equal, positive when newer. */
export function compareVersions(a: PachydermVersion, b: PachydermVersion): number {
  if (a.major !== b.major) return a.major - b.major;
  if (a.minor !== b.minor) return a.minor - b.minor;
  if (a.patch !== b.patch) return a.patch - b.patch;
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === '') return 1;
  if (b.prerelease === '') return -1;
  return a.prerelease < b.prerelease ? -1 : 1;
}

/** True when `version` is at least major.minor. */
export function isAtLeast(version: PachydermVersion | undefined, major: number, minor: number): boolean {
  if (!version) return false;
  return version.major > major || (version.major === major && version.minor >= minor);
}

/** The version in an image reference's tag (`pachyderm/pachd:2.11.6` → 2.11.6); undefined for digests and odd tags. */
export function versionOfImage(image: string | undefined): PachydermVersion | undefined {
  if (!image || image.includes('@')) return undefined;
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon <= slash) return undefined;
  return parsePachydermVersion(image.slice(colon + 1));
}
