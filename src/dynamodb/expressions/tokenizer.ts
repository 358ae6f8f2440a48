/**
 * The lexical layer shared by every DynamoDB expression kind (key condition, condition,
 * filter, projection, update): words, `#name` and `:value` placeholders, list indexes and
 * punctuation, each with its position so syntax errors can quote the text around them.
 */

export type TokenKind =
  | 'word' // attribute names, function names and keywords (AND, BETWEEN, SET, ...)
  | 'name' // #placeholder
  | 'value' // :placeholder
  | 'number' // list index digits
  | '('
  | ')'
  | '['
  | ']'
  | ','
  | '.'
  | '='
  | '<>'
  | '<'
  | '<='
  | '>'
  | '>='
  | '+'
  | '-'
  | 'invalid' // a character no token starts with; it always ends up as a syntax error
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** Offsets into the expression text: [start, end). */
  readonly start: number;
  readonly end: number;
}

const WORD_START = /[A-Za-z_]/;
const WORD_PART = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;
const WHITESPACE = /[ \t\r\n]/;

const PUNCTUATION: Readonly<Record<string, TokenKind>> = {
  '(': '(',
  ')': ')',
  '[': '[',
  ']': ']',
  ',': ',',
  '.': '.',
  '=': '=',
  '+': '+',
  '-': '-',
};

/** Splits an expression into tokens; never fails (unknown characters become `invalid` tokens). */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const take = (kind: TokenKind, end: number): void => {
    tokens.push({ kind, text: text.slice(i, end), start: i, end });
    i = end;
  };
  const partEnd = (from: number, part: RegExp): number => {
    let end = from;
    while (end < text.length && part.test(text.charAt(end))) end++;
    return end;
  };

  while (i < text.length) {
    const c = text.charAt(i);
    if (WHITESPACE.test(c)) {
      i++;
    } else if (WORD_START.test(c)) {
      take('word', partEnd(i + 1, WORD_PART));
    } else if (DIGIT.test(c)) {
      take('number', partEnd(i + 1, DIGIT));
    } else if (c === '#') {
      take('name', partEnd(i + 1, WORD_PART));
    } else if (c === ':') {
      take('value', partEnd(i + 1, WORD_PART));
    } else if (c === '<') {
      const next = text.charAt(i + 1);
      if (next === '>') take('<>', i + 2);
      else if (next === '=') take('<=', i + 2);
      else take('<', i + 1);
    } else if (c === '>') {
      take(text.charAt(i + 1) === '=' ? '>=' : '>', text.charAt(i + 1) === '=' ? i + 2 : i + 1);
    } else {
      const kind = PUNCTUATION[c];
      // Surrogate pairs stay whole so an error message never quotes half a character.
      const width = (c.codePointAt(0) ?? 0) > 0xffff ? 2 : 1;
      take(kind ?? 'invalid', i + (kind ? 1 : width));
    }
  }
  tokens.push({ kind: 'eof', text: '', start: text.length, end: text.length });
  return tokens;
}

/** A keyword of the expression grammars; these words can never be attribute names. */
export function isKeyword(token: Token, keyword: string): boolean {
  return token.kind === 'word' && token.text.toUpperCase() === keyword;
}
