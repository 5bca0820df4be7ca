import type { FanOutSettings } from '../fan-out/plan-ranges.js';
import type { SslMode } from './schema.js';

/**
 * pachbackup's configuration after validation, defaults and secret resolution: what every other module
 * receives. Only composition roots (serve, worker, cli, sandbox) load it; everything else gets the part it needs.
 */
export interface Config {
  /** Where the file was read from (for messages). */
  source: string;
  stateDatabaseUrl: string;
  /** The state database's password when it is not in the URL (`stateDatabase.password`). */
  stateDatabasePassword?: string;
  /** `password`: Redis's (AUTH), when it is not in the URL (`redis.password`). */
  redis: { url: string; prefix: string; password?: string };
  slack?: SlackConfig;
  /** The longest `serve` and `worker` take to stop after SIGTERM/SIGINT (default 25 s). */
  shutdownGraceSeconds: number;
  clusters: Record<string, ClusterConfig>;
}

export interface SlackConfig {
  botToken: string;
  signingSecret: string;
  /** Present: Socket Mode. Absent: HTTP with signature checks. */
  appToken?: string;
  apiUrl?: string;
  port: number;
}

/** An S3-compatible bucket (and key prefix) with the means to reach it. */
export interface ObjectStoreConfig {
  endpoint?: string;
  region: string;
  bucket: string;
  prefix: string;
  forcePathStyle: boolean;
  /** Absent: the SDK's default chain (IRSA, instance profile, AWS_* variables). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export interface PostgresConfig {
  host: string;
  port: number;
  user: string;
  password?: string;
  sslmode: SslMode;
  sslRootCert?: string;
  databases: string[];
}

export interface Principals {
  users: string[];
  groups: string[];
}

/** A backup schedule from the config file: a cron expression in an IANA zone, and the users' heads-up before each run. */
export interface ScheduleConfig {
  cron: string;
  /** IANA zone, canonical spelling (default UTC). */
  timezone: string;
  /** Minutes before each run that the announce channel is told (default 30; 0: no heads-up). */
  headsUpMinutes: number;
}

/** One Pachyderm installation: where it runs, where its state is, where its backups go, who may touch it. */
export interface ClusterConfig {
  name: string;
  displayName: string;
  kubernetes: { inCluster: boolean; kubeconfig?: string; context?: string; namespace: string };
  pachyderm: {
    deployment: string;
    quiesce: string[];
    workerSelector: string;
    pauseStrategy: 'scale' | 'enterprise';
    helmRelease: string;
  };
  postgres: PostgresConfig;
  objectStore: ObjectStoreConfig;
  backupStore: ObjectStoreConfig;
  ingress: { cronJobs: string[]; deployments: string[] };
  backup: { copyConcurrency: number; listConcurrency: number; catchUpAfterSeconds: number; pauseTimeoutSeconds: number; resumeTimeoutSeconds: number; fanOut: FanOutSettings };
  /** Backups that run on their own (the config file's; more are made in Slack and kept in the state database). */
  schedules: ScheduleConfig[];
  retention: { keepLast?: number; keepDays?: number; incompleteAfterHours: number; poolGraceHours: number };
  alerts: { staleAfterHours: number };
  /**
   * Restores asked for in Slack: how many distinct approvers (never the requester) must approve before the restore
   * is queued (1-10, default 1), and how long the request waits for them (5-10080 minutes, default 60).
   */
  restore: { requiredApprovals: number; requestExpiryMinutes: number };
  slack?: { opsChannel: string; announceChannel?: string };
  access: { operators: Principals; approvers: Principals };
}
