// An organization's upload rules: the largest upload and the containers it accepts. No row in
// media_settings means the defaults from the environment (MEDIA_MAX_UPLOAD_BYTES,
// MEDIA_ALLOWED_CONTAINERS). Read by createVideoUpload (the size) and by the upload route (the
// container its first bytes announce); ORG_ADMIN changes them with setMediaSettings.
import type { VideoContainer } from '../pipeline/probe.ts';

export interface MediaSettings {
  maxUploadBytes: number;
  allowedContainers: VideoContainer[];
  /** Whether these are the defaults (the organization never set its own). */
  isDefault: boolean;
}

export interface SettingsDefaults {
  maxUploadBytes: number;
  allowedContainers: readonly string[];
}

/** A statement runner: uow.statement, or a write's em.execute. */
export type Query = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

export async function settingsOf(query: Query, tenantId: string, defaults: SettingsDefaults): Promise<MediaSettings> {
  const [row] = (await query(`select max_upload_bytes, allowed_containers from media_settings where tenant_id = ?`, [tenantId])) as {
    max_upload_bytes: string;
    allowed_containers: string[] | string;
  }[];
  if (!row) return { maxUploadBytes: defaults.maxUploadBytes, allowedContainers: [...defaults.allowedContainers] as VideoContainer[], isDefault: true };
  const list = Array.isArray(row.allowed_containers) ? row.allowed_containers : String(row.allowed_containers).replace(/^\{|\}$/g, '').split(',').filter(Boolean);
  return { maxUploadBytes: Number(row.max_upload_bytes), allowedContainers: list as VideoContainer[], isDefault: false };
}
