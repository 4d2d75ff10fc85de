import type { UploadFileFn, UploadStore } from './FileUploads.js';
import type { FileVariables } from './readFileVariables.js';

/**
 * `runBatch({ files })`: how records that name files become Dify file inputs.
 * @category files
 */
export interface RunBatchFiles {
  /** Relative paths in records are resolved against this folder. @defaultValue process.cwd() */
  readonly root?: string | undefined;
  /**
   * Download `http(s)://` files and upload them (`local_file`) instead of passing the URL
   * (`remote_url`): for variables that take no URLs, or URLs the Dify server cannot reach.
   * @defaultValue false
   */
  readonly uploadRemote?: boolean | undefined;
  /**
   * With `uploadRemote`: hosts dify-batch may download from whatever they resolve to — host names
   * (`files.example.com`), suffixes (`.example.com`: the domain and its subdomains) or IP addresses. Any
   * other host must resolve to public addresses only: a URL whose host resolves to a loopback,
   * link-local, private or unique-local address fails its record (ERR_INPUT_INVALID naming the field),
   * never the run. The connection is pinned to the addresses checked (no DNS rebinding); redirects are
   * not followed. Without `uploadRemote` nothing is fetched here (Dify fetches `remote_url` itself, through
   * its own SSRF proxy).
   * @defaultValue `[]` (public addresses only)
   */
  readonly allowHosts?: readonly string[] | undefined;
  /** Uploads in flight at most; never more than the run's `concurrency`. @defaultValue the run's concurrency */
  readonly concurrency?: number | undefined;
  /**
   * The app's file variables and size limits. Required with `transport`.
   * @defaultValue read from `GET /parameters` (`readFileVariables`) before the first call
   */
  readonly variables?: FileVariables | undefined;
  /** Uploads one file. Required with `transport`. @defaultValue the run's DifyClient#uploadFile, as `user` */
  readonly upload?: UploadFileFn | undefined;
  /** Uploads of an earlier run (`FileUploadLog`), reused instead of uploading again. @defaultValue undefined */
  readonly store?: UploadStore | undefined;
}
