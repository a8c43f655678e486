/**
 * Strata validates every address, subject and display name itself before nodemailer sees them.
 * nodemailer parses a recipient string with RFC 5322 group syntax and header folding, so
 * `"Agent <a@x.test>\r\nBcc: y@evil.test"` is delivered to y@evil.test alone: anything but one plain
 * addr-spec (`local@domain`, dot-atom on both sides) is refused here with E_MAIL_ADDRESS_INVALID, and
 * CR/LF or other control characters in a subject or display name with E_MAIL_HEADER_INVALID.
 */
import { StrataError } from '../../kernel/index.ts';

// RFC 5322 dot-atom local part (no quoted strings: they are where parser tricks hide) and an
// RFC 1035 host name of at least two labels.
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LOCAL = new RegExp(`^${ATEXT}(?:\\.${ATEXT})*$`);
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
// C0 controls (CR and LF among them), DEL, and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;

export type AddressProblem = 'crlf' | 'group' | 'display-name' | 'list' | 'syntax' | 'length';

function refuse(field: string, reason: AddressProblem, message: string): StrataError {
  return new StrataError('E_MAIL_ADDRESS_INVALID', `${field}: ${message}`, { field, reason });
}

/** Returns `value` as a lower-cased addr-spec, or throws E_MAIL_ADDRESS_INVALID naming `field`. */
export function validateAddress(value: string, field = 'address'): string {
  if (/[\r\n]/.test(value)) {
    throw refuse(field, 'crlf', 'CR and LF are not allowed in an address');
  }
  if (CONTROL.test(value)) throw refuse(field, 'syntax', 'control characters are not allowed');
  if (/[:;]/.test(value)) throw refuse(field, 'group', 'group syntax (":" or ";") is not allowed');
  if (/[<>"()]/.test(value)) {
    throw refuse(field, 'display-name', 'give a bare address (local@domain) without a display name');
  }
  if (/[,\s]/.test(value)) throw refuse(field, 'list', 'one address per entry, without spaces or commas');
  if (value.length > 254) throw refuse(field, 'length', 'an address is at most 254 characters');
  const at = value.lastIndexOf('@');
  const local = value.slice(0, at);
  const labels = value.slice(at + 1).split('.');
  const ok =
    at > 0 &&
    local.length <= 64 &&
    LOCAL.test(local) &&
    labels.length >= 2 &&
    labels.every((l) => LABEL.test(l));
  if (!ok) throw refuse(field, 'syntax', `"${value}" is not an address of the form local@domain`);
  return value.toLowerCase();
}

/** Throws E_MAIL_HEADER_INVALID when `value` (a subject, a display name) could break a header. */
export function validateHeaderText(value: string, field: string, maxLength = 998): string {
  if (CONTROL.test(value)) {
    throw new StrataError(
      'E_MAIL_HEADER_INVALID',
      `${field}: CR, LF and control characters are not allowed`,
      {
        field,
      },
    );
  }
  if (value.length > maxLength) {
    throw new StrataError('E_MAIL_HEADER_INVALID', `${field}: at most ${maxLength} characters`, { field });
  }
  return value;
}

/** The domain part of a validated address. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}
