/** DynamoDB's AttributeValue wire shape (exactly one member set). */
export interface AttributeValue {
  S?: string;
  N?: string;
  /** base64 on the wire */
  B?: string;
  SS?: string[];
  NS?: string[];
  BS?: string[];
  M?: Record<string, AttributeValue>;
  L?: AttributeValue[];
  NULL?: boolean;
  BOOL?: boolean;
}

export type Item = Record<string, AttributeValue>;
export type ScalarKeyType = 'S' | 'N' | 'B';
