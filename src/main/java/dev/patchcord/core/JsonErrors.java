package dev.patchcord.core;

import com.fasterxml.jackson.core.JacksonException;

/** One readable line for a JSON document that does not parse (hosts.json, peer lists, directory answers). */
public final class JsonErrors {
    private JsonErrors() {}

    /**
     * Jackson's own message with its source description taken out (it says only that the source is
     * hidden) and the line number added: {@code not valid JSON: Unexpected end-of-input: expected
     * close marker for Array (start marker at [line: 1, column: 12]) at line 1}.
     */
    public static String describe(JacksonException e) {
        String m = String.valueOf(e.getOriginalMessage()).replaceAll("\\[Source: [^;\\]]*; ", "[").replaceAll("\\s+", " ");
        return "not valid JSON: " + m + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr());
    }
}
