/** A one-step transformation whose step body is `body`, with an optional output schema (YAML flow text). */
export function returning(body: string, outputSchema = '{}'): string {
  return `apiVersion: beddel/v1
kind: Transformation
metadata: { name: out, version: 1.0.0 }
spec:
  outputSchema: ${outputSchema}
  steps:
    - name: only
      run: |
        ${body}
`;
}
