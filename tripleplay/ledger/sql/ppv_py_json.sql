-- The JSON string literal Python's json.dumps writes (sorted keys and ASCII escapes are the callers'):
-- the request fingerprints of rows the ledger's database functions write are the Python path's
-- (tripleplay.core.idempotency.fingerprint). Named ppv_ for where it was first written (installed
-- databases and tripleplay/ppv/tests/test_db_hot_path.py know it by that name).
CREATE OR REPLACE FUNCTION ppv_py_json(s text) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT AS $$
-- The JSON string literal Python's json.dumps writes for s (ensure_ascii: only printable ASCII kept).
DECLARE
    out text := '';
    ch text;
    cp integer;
BEGIN
    IF s ~ '^[ -~]*$' THEN
        RETURN '"' || replace(replace(s, '\', '\\'), '"', '\"') || '"';
    END IF;
    FOREACH ch IN ARRAY regexp_split_to_array(s, '') LOOP
        cp := ascii(ch);
        IF ch = '"' THEN out := out || '\"';
        ELSIF ch = '\' THEN out := out || '\\';
        ELSIF cp = 10 THEN out := out || '\n';
        ELSIF cp = 13 THEN out := out || '\r';
        ELSIF cp = 9 THEN out := out || '\t';
        ELSIF cp = 8 THEN out := out || '\b';
        ELSIF cp = 12 THEN out := out || '\f';
        ELSIF cp BETWEEN 32 AND 126 THEN out := out || ch;
        ELSIF cp < 65536 THEN out := out || '\u' || lpad(to_hex(cp), 4, '0');
        ELSE
            cp := cp - 65536;
            out := out || '\u' || lpad(to_hex(55296 + (cp >> 10)), 4, '0')
                       || '\u' || lpad(to_hex(56320 + (cp & 1023)), 4, '0');
        END IF;
    END LOOP;
    RETURN '"' || out || '"';
END
$$;
