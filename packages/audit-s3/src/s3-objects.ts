import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { BeddelError, ErrorCodes } from '@beddel/contracts';

export interface StoredObject {
  readonly body: string;
  readonly etag: string | undefined;
}

export interface PutResult {
  readonly etag: string | undefined;
  readonly versionId: string | undefined;
}

/** Preconditions for a write. Stores that honour them make the write atomic; others ignore them. */
export type WriteCondition = { readonly ifNoneMatch: '*' } | { readonly ifMatch: string } | null;

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export function isPreconditionFailed(error: unknown): boolean {
  const status = httpStatus(error);
  return status === 412 || status === 409 || (error as { name?: unknown }).name === 'PreconditionFailed';
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: unknown }).name;
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(error) === 404;
}

function unavailable(message: string, cause: unknown): BeddelError {
  return new BeddelError(ErrorCodes.AUDIT_UNAVAILABLE, message, { cause });
}

/** Thin, error-mapping access to one bucket: I/O failures become BEDDEL_AUDIT_UNAVAILABLE. */
export class BucketObjects {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  /** The object's text, or `null` when it does not exist. */
  async get(key: string, versionId?: string): Promise<StoredObject | null> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(versionId === undefined ? {} : { VersionId: versionId }) }));
      if (response.Body === undefined) throw new Error('empty response body');
      return { body: await response.Body.transformToString('utf-8'), etag: response.ETag };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw unavailable(`Could not read s3://${this.bucket}/${key}.`, error);
    }
  }

  /** Writes an object; a failed precondition rethrows the SDK error (see `isPreconditionFailed`). */
  async put(key: string, body: string, contentType: string, condition: WriteCondition): Promise<PutResult> {
    try {
      const response = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          ...(condition === null ? {} : 'ifMatch' in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: condition.ifNoneMatch }),
        }),
      );
      return { etag: response.ETag, versionId: response.VersionId };
    } catch (error) {
      if (isPreconditionFailed(error)) throw error;
      throw unavailable(`Could not write s3://${this.bucket}/${key}.`, error);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      throw unavailable(`Could not delete s3://${this.bucket}/${key}.`, error);
    }
  }

  /** Every key under `prefix` in ascending (UTF-8 binary) order. */
  async keys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      try {
        const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }));
        for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } catch (error) {
        throw unavailable(`Could not list s3://${this.bucket}/${prefix}.`, error);
      }
    } while (token !== undefined);
    return keys;
  }

  /** The "directories" directly under `prefix` (common prefixes with delimiter `/`). */
  async folders(prefix: string): Promise<string[]> {
    const folders: string[] = [];
    let token: string | undefined;
    do {
      try {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', ...(token === undefined ? {} : { ContinuationToken: token }) }),
        );
        for (const common of page.CommonPrefixes ?? []) if (common.Prefix !== undefined) folders.push(common.Prefix);
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } catch (error) {
        throw unavailable(`Could not list s3://${this.bucket}/${prefix}.`, error);
      }
    } while (token !== undefined);
    return folders;
  }
}
