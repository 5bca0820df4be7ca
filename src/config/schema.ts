import { z } from 'zod';
import { DEFAULT_FAN_OUT } from '../fan-out/plan-ranges.js';
import { DEFAULT_COPY_CONCURRENCY } from '../object-store/copy-concurrency.js';
import { MAX_KEY_RANGES } from '../object-store/key-ranges.js';
import { CRON_EXAMPLE, DEFAULT_HEADS_UP_MINUTES, DEFAULT_TIMEZONE, cronProblem, isTimeZone } from '../schedules/schedule.js';

/**
 * The shape of pachbackup's configuration file (YAML). Everything that is not a secret lives here; secrets are
 * references (`{ env: NAME }` or `{ file: /path }`) resolved by `load-config.ts`, so the file itself can be a
 * ConfigMap and never holds a credential.
 *
 * Objects are strict: an unknown key is a typo until proven otherwise, and is reported with the keys allowed.
 */

/** A reference to a secret held outside the file: an environment variable or a mounted file. */
export const secretRefSchema = z
  .strictObject({
    env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name such as PGPASSWORD').optional(),
    file: z.string().min(1, 'a path to a mounted file').optional(),
  })
  .refine((ref) => (ref.env === undefined) !== (ref.file === undefined), {
    message: 'expected exactly one of `env: VARIABLE` or `file: /path/to/file`',
  });
export type SecretRef = z.infer<typeof secretRefSchema>;

/**
 * A secret must not be written in the file. A plain string here is refused with the fix spelled out rather than
 * silently accepted, because config files end up in Git and ConfigMaps.
 */
const secretSchema = z.union([secretRefSchema, z.string()]).superRefine((value, ctx) => {
  if (typeof value === 'string') {
    ctx.addIssue({
      code: 'custom',
      message: 'expected `{ env: VARIABLE }` or `{ file: /path/to/file }`: secrets are not written in the config file',
    });
  }
});

/** A value that may be given inline (not secret, e.g. an access key id) or by reference. */
const valueOrRefSchema = z.union([z.string().min(1), secretRefSchema]);

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a lowercase DNS label (a-z, 0-9 and -, starting and ending alphanumeric)')
  .max(63);

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'a Slack user id such as U012ABCDEF');
const slackGroupId = z.string().regex(/^S[A-Z0-9]{2,}$/, 'a Slack user group id such as S012ABCDEF');
const slackChannel = z
  .string()
  .regex(/^([CG][A-Z0-9]{2,}|#[a-z0-9][a-z0-9._-]{0,79})$/, 'a Slack channel id such as C012ABCDEF, or #channel-name');

const labelSelector = z
  .string()
  .regex(
    /^\s*!?[A-Za-z0-9./_-]+(\s*(==?|!=)\s*[A-Za-z0-9._-]*|\s+(in|notin)\s+\([^)]*\))?(\s*,\s*!?[A-Za-z0-9./_-]+(\s*(==?|!=)\s*[A-Za-z0-9._-]*|\s+(in|notin)\s+\([^)]*\))?)*\s*$/,
    'a Kubernetes label selector such as suite=pachyderm,component=worker',
  );

const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 characters: a-z, 0-9, dot and hyphen)');

const prefix = z
  .string()
  .regex(/^([A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*)?$/, 'a key prefix such as pachbackup/prod, without leading or trailing slash')
  .default('');

const endpoint = z.url({ protocol: /^https?$/, error: 'an http(s) URL such as https://s3.us-east-1.amazonaws.com' });

/** Who may do what: Slack users and user groups. */
const principalsSchema = z
  .strictObject({
    users: z.array(slackUserId).default([]),
    groups: z.array(slackGroupId).default([]),
  })
  .default({ users: [], groups: [] });

/** An S3-compatible bucket and how to reach it. */
const objectStoreSchema = z.strictObject({
  endpoint: endpoint.optional(),
  region: z.string().min(1).default('us-east-1'),
  bucket: bucketName,
  prefix,
  forcePathStyle: z.boolean().default(false),
  accessKeyId: valueOrRefSchema.optional(),
  secretAccessKey: secretSchema.optional(),
});

/** The bucket backups are written to. Credentials and endpoint default to the cluster's object store. */
const backupStoreSchema = objectStoreSchema.extend({
  region: z.string().min(1).optional(),
  forcePathStyle: z.boolean().optional(),
});

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

const postgresSchema = z.strictObject({
  host: z.string().min(1),
  port: z.int().min(1).max(65535).default(5432),
  user: z.string().min(1),
  password: secretSchema.optional(),
  sslmode: z.enum(SSL_MODES).default('require'),
  /** CA bundle used to verify the server's certificate (verify-ca, verify-full). */
  sslRootCert: z.string().min(1).optional(),
  databases: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/, 'a PostgreSQL database name')).min(1).default(['pachyderm', 'dex']),
});

const kubernetesSchema = z.strictObject({
  /** Use the pod's ServiceAccount (pachbackup deployed in the cluster). */
  inCluster: z.boolean().default(false),
  /** Kubeconfig file; defaults to $KUBECONFIG or ~/.kube/config. */
  kubeconfig: z.string().min(1).optional(),
  /** Context of the kubeconfig to use; required unless inCluster. */
  context: z.string().min(1).optional(),
  namespace: dnsLabel.default('pachyderm'),
});

const pachydermSchema = z
  .strictObject({
    deployment: dnsLabel.default('pachd'),
    /** Other Deployments that write to the bucket or database and must stop too; pachw writes chunks. */
    quiesce: z.array(dnsLabel).default(['pachw']),
    workerSelector: labelSelector.default('suite=pachyderm,component=worker'),
    /** `scale`: the runbook's kubectl scale; `enterprise`: what `pachctl enterprise pause` does (MODE=paused). */
    pauseStrategy: z.enum(['scale', 'enterprise']).default('scale'),
    helmRelease: dnsLabel.default('pachyderm'),
  })
  .default({ deployment: 'pachd', quiesce: ['pachw'], workerSelector: 'suite=pachyderm,component=worker', pauseStrategy: 'scale', helmRelease: 'pachyderm' });

const ingressSchema = z
  .strictObject({
    cronJobs: z.array(dnsLabel).default([]),
    deployments: z.array(dnsLabel).default([]),
  })
  .default({ cronJobs: [], deployments: [] });

const backupSettingsSchema = z
  .strictObject({
    /**
     * Objects one process (a worker, or the CLI) copies at once for this cluster — all key ranges of a large copy
     * it runs together, so `worker --ranges` does not multiply it; N workers put up to N times this on the store.
     * The default: see DEFAULT_COPY_CONCURRENCY.
     */
    copyConcurrency: z
      .int()
      .min(1, 'from 1 to 256 copies at once per process')
      .max(256, 'from 1 to 256 copies at once per process')
      .default(DEFAULT_COPY_CONCURRENCY),
    /**
     * Key ranges of the cluster bucket listed at once (the pause lists it in about objects / (1000 × this)
     * request times). Pachyderm's keys are content-addressed, so the ranges hold about as many objects each.
     */
    listConcurrency: z.int().min(1).max(256).default(16),
    /**
     * A pre-copy that took longer than this is followed by another, shorter pass right before the pause (and
     * that by another, up to three), so the pause copies only what arrived in the last seconds.
     */
    catchUpAfterSeconds: z.number().min(0).max(86_400).default(10),
    /** How long to wait for pods to go after the pause before giving up (and resuming). */
    pauseTimeoutSeconds: z.int().min(5).max(3600).default(300),
    /** How long to wait for pachd to be ready after the resume. */
    resumeTimeoutSeconds: z.int().min(5).max(3600).default(600),
    /**
     * Copies (and pool checks) of at least `minObjects` objects are split into key ranges of about
     * `objectsPerRange` objects (at most `maxRanges`), each a child job any worker takes; smaller ones run in
     * the worker that runs the operation.
     */
    fanOut: z
      .strictObject({
        minObjects: z.int().min(1, 'a number of objects, 1 or more').default(DEFAULT_FAN_OUT.minObjects),
        objectsPerRange: z.int().min(1, 'a number of objects, 1 or more').default(DEFAULT_FAN_OUT.objectsPerRange),
        maxRanges: z.int().min(2, `from 2 to ${MAX_KEY_RANGES} ranges`).max(MAX_KEY_RANGES, `from 2 to ${MAX_KEY_RANGES} ranges`).default(DEFAULT_FAN_OUT.maxRanges),
      })
      .default({ ...DEFAULT_FAN_OUT }),
  })
  .default({ copyConcurrency: DEFAULT_COPY_CONCURRENCY, listConcurrency: 16, catchUpAfterSeconds: 10, pauseTimeoutSeconds: 300, resumeTimeoutSeconds: 600, fanOut: { ...DEFAULT_FAN_OUT } });

/** How long backups are kept; unset keeps them all. Pinned backups are always kept, and so is the newest. */
const retentionSchema = z
  .strictObject({
    /** Keep the newest N complete backups. */
    keepLast: z.int().min(1).optional(),
    /** Keep every backup younger than this many days. */
    keepDays: z.int().min(1).optional(),
    /** Folders without a manifest (failed backups) older than this are removed. */
    incompleteAfterHours: z.int().min(1).default(48),
    /**
     * Pool objects no complete backup references are deleted only once older than this: a backup still copying
     * (of any cluster sharing the store) has not written its manifest yet.
     */
    poolGraceHours: z.number().min(1).default(24),
  })
  .default({ incompleteAfterHours: 48, poolGraceHours: 24 });

/**
 * A backup schedule: a cron expression (5 fields, or 6 with seconds first, as BullMQ's job schedulers read it)
 * in an IANA time zone, with a heads-up to the cluster's users that many minutes before each run (0: none).
 */
const scheduleSchema = z.strictObject({
  cron: z.string().superRefine((cron, ctx) => {
    const problem = cronProblem(cron);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `expected a cron expression such as ${CRON_EXAMPLE}; ${problem}` });
  }),
  timezone: z
    .string()
    .refine(isTimeZone, { message: 'expected an IANA time zone such as Europe/Berlin, America/New_York or UTC' })
    .default(DEFAULT_TIMEZONE),
  headsUpMinutes: z
    .int()
    .min(0, 'a number of minutes, 0 or more (0: no heads-up)')
    .max(7 * 24 * 60, 'at most 10080 minutes (a week)')
    .default(DEFAULT_HEADS_UP_MINUTES),
});

/**
 * How restores asked for in Slack are approved: how many approvers other than the requester must approve, and
 * how long a request waits for them before it expires (a plan approved much later may no longer be what was
 * meant, and is planned again anyway).
 */
const restoreSettingsSchema = z
  .strictObject({
    requiredApprovals: z.int().min(1, 'from 1 to 10 approvals').max(10, 'from 1 to 10 approvals').default(1),
    requestExpiryMinutes: z
      .int()
      .min(5, 'from 5 to 10080 minutes (a week)')
      .max(7 * 24 * 60, 'from 5 to 10080 minutes (a week)')
      .default(60),
  })
  .default({ requiredApprovals: 1, requestExpiryMinutes: 60 });

const clusterSchema = z.strictObject({
  /** Shown in Slack and announcements, e.g. "Pachyderm production". */
  displayName: z.string().min(1).max(80).optional(),
  kubernetes: kubernetesSchema,
  pachyderm: pachydermSchema,
  postgres: postgresSchema,
  objectStore: objectStoreSchema,
  backupStore: backupStoreSchema,
  ingress: ingressSchema,
  backup: backupSettingsSchema,
  /** Backups run on their own, e.g. `[{ cron: '0 3 * * *', timezone: Europe/Berlin }]`. */
  schedules: z.array(scheduleSchema).default([]),
  retention: retentionSchema,
  restore: restoreSettingsSchema,
  /** An alert in the ops channel when the last good backup is older than this. */
  alerts: z.strictObject({ staleAfterHours: z.number().positive().max(24 * 365).default(26) }).default({ staleAfterHours: 26 }),
  slack: z
    .strictObject({
      opsChannel: slackChannel,
      announceChannel: slackChannel.optional(),
    })
    .optional(),
  access: z
    .strictObject({
      operators: principalsSchema,
      approvers: principalsSchema,
    })
    .default({ operators: { users: [], groups: [] }, approvers: { users: [], groups: [] } }),
});

const slackSchema = z.strictObject({
  botToken: secretSchema,
  signingSecret: secretSchema,
  /** An app-level token (xapp-...) switches the app to Socket Mode. */
  appToken: secretSchema.optional(),
  /** Web API base URL; only the sandbox changes it. */
  apiUrl: endpoint.optional(),
  port: z.int().min(0).max(65535).default(3000),
});

export const configSchema = z.strictObject({
  /** `url` written in the file must not hold a password: give it `password`, or the whole URL by reference. */
  stateDatabase: z.strictObject({
    url: valueOrRefSchema,
    password: secretSchema.optional(),
  }),
  redis: z.strictObject({
    url: valueOrRefSchema,
    password: secretSchema.optional(),
    /** Prefix of every BullMQ key, so several installations can share a Redis. */
    prefix: z.string().regex(/^[A-Za-z0-9:_-]+$/).default('pachbackup'),
  }),
  slack: slackSchema.optional(),
  /**
   * How long `serve` and `worker` take at most to stop after SIGTERM or SIGINT: a running operation is handed
   * back, finished or undone within it. Keep the pods' terminationGracePeriodSeconds above it (deploy/).
   */
  shutdownGraceSeconds: z.int().min(5, 'from 5 to 3600 seconds').max(3600, 'from 5 to 3600 seconds').default(25),
  clusters: z.record(dnsLabel, clusterSchema).refine((clusters) => Object.keys(clusters).length > 0, {
    message: 'expected at least one cluster, e.g. `clusters: { prod: { ... } }`',
  }),
});

/** The file as written, after defaults. */
export type RawConfig = z.infer<typeof configSchema>;
export type RawCluster = z.infer<typeof clusterSchema>;
