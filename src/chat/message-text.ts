import { AppException } from '../common/app.exception';

// A message's text against the configured limit, the same for sockets and the flow's REST route.
export function checkText(text: string, max: number): void {
  if (text.length === 0) throw AppException.badRequest('text must not be empty');
  if (text.length > max) throw AppException.badRequest(`text is longer than ${max} characters`);
}
