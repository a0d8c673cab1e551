import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/**
 * The URL prefix of the nbtrack REST API, relative to the server's base URL.
 */
export const API_NAMESPACE = 'nbtrack/api';

/**
 * Call the nbtrack server extension.
 *
 * @param endPoint - API path after `nbtrack/api/` (query string included)
 * @param serverSettings - connection settings of the running server
 * @param init - initial values for the request
 * @returns the decoded JSON body
 * @throws {ServerConnection.NetworkError} if the server cannot be reached
 * @throws {ServerConnection.ResponseError} if the response status is not ok
 */
export async function requestAPI<T>(
  endPoint: string,
  serverSettings: ServerConnection.ISettings,
  init: RequestInit = {}
): Promise<T> {
  const requestUrl = URLExt.join(
    serverSettings.baseUrl,
    API_NAMESPACE,
    endPoint
  );

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(
      requestUrl,
      init,
      serverSettings
    );
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  let data: unknown = await response.text();
  if ((data as string).length > 0) {
    try {
      data = JSON.parse(data as string);
    } catch {
      console.error('nbtrack: response is not JSON', response);
    }
  }

  if (!response.ok) {
    const message =
      data && typeof data === 'object' && 'message' in data
        ? String((data as { message: unknown }).message)
        : String(data);
    throw new ServerConnection.ResponseError(response, message);
  }

  return data as T;
}
