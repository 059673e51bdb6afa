package dev.patchcord.control;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The named peers of a server's configuration file, edited as text so that everything else in
 * the file (comments, order, spacing) stays as its owner wrote it. A peer's name is a comment
 * line {@code # Name = NAME} inside its {@code [Peer]} section, which wg-quick and the
 * {@code wg} tool ignore; peers without one are listed with no name and never touched.
 */
public final class PeerBook {
    /** Names go into file comments and shell commands: keep them to one plain word. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Pattern NAME_LINE = Pattern.compile("#\\s*Name\\s*=\\s*(\\S+)\\s*");
    private static final Pattern SECTION = Pattern.compile("\\s*\\[([^]]*)]\\s*(#.*)?");

    /** One [Peer] section: its lines {@code [from, to)} of the file, its name (or null) and keys. */
    public record Entry(String name, String publicKey, String allowedIps, int from, int to) {}

    private PeerBook() {
    }

    /** Checks that {@code name} can name a peer; throws saying why not. */
    public static String checkName(String name) {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("peer name '" + name + "' must be 1-64 letters, digits, '.', '_' or '-',"
                    + " starting with a letter or digit");
        }
        return name;
    }

    /** The [Peer] sections of {@code text}, in file order. */
    public static List<Entry> list(String text) {
        String[] lines = text.split("\n", -1);
        List<Entry> out = new ArrayList<>();
        int start = -1;
        for (int i = 0; i <= lines.length; i++) {
            boolean header = i < lines.length && SECTION.matcher(lines[i]).matches();
            if ((header || i == lines.length) && start >= 0) {
                out.add(entry(lines, start, trimBlank(lines, start, i)));
                start = -1;
            }
            if (header && lines[i].strip().toLowerCase(java.util.Locale.ROOT).startsWith("[peer]")) {
                start = i;
            }
        }
        return out;
    }

    private static int trimBlank(String[] lines, int from, int to) {
        while (to > from + 1 && lines[to - 1].isBlank()) {
            to--;
        }
        return to;
    }

    private static Entry entry(String[] lines, int from, int to) {
        String name = null;
        String key = null;
        StringBuilder ips = new StringBuilder();
        for (int i = from + 1; i < to; i++) {
            String line = lines[i].strip();
            var m = NAME_LINE.matcher(line);
            if (m.matches()) {
                name = m.group(1);
                continue;
            }
            int eq = line.indexOf('=');
            if (line.startsWith("#") || eq < 0) {
                continue;
            }
            String k = line.substring(0, eq).strip().toLowerCase(java.util.Locale.ROOT);
            String v = line.substring(eq + 1).strip();
            if (k.equals("publickey")) {
                key = v;
            } else if (k.equals("allowedips") && !v.isEmpty()) {
                ips.append(ips.isEmpty() ? "" : ", ").append(v);
            }
        }
        return new Entry(name, key, ips.toString(), from, to);
    }

    /** The section named {@code name}, or null. */
    public static Entry find(String text, String name) {
        for (Entry e : list(text)) {
            if (name.equals(e.name())) {
                return e;
            }
        }
        return null;
    }

    /** {@code text} with a named [Peer] section appended. */
    public static String add(String text, String name, String publicKey, String presharedKey, String allowedIps) {
        checkName(name);
        if (find(text, name) != null) {
            throw new IllegalArgumentException("a peer named '" + name + "' is already in the file");
        }
        StringBuilder sb = new StringBuilder(text);
        if (!text.isEmpty() && !text.endsWith("\n")) {
            sb.append('\n');
        }
        if (!text.isEmpty() && !text.endsWith("\n\n")) {
            sb.append('\n');
        }
        sb.append("[Peer]\n# Name = ").append(name).append('\n')
                .append("PublicKey = ").append(publicKey).append('\n');
        if (presharedKey != null) {
            sb.append("PresharedKey = ").append(presharedKey).append('\n');
        }
        sb.append("AllowedIPs = ").append(allowedIps).append('\n');
        return sb.toString();
    }

    /**
     * {@code text} without the section of {@code entry}, and without the blank lines that set it
     * apart: those after it, or, for the last section, those before it.
     */
    public static String remove(String text, Entry entry) {
        String[] lines = text.split("\n", -1);
        int from = entry.from();
        int to = entry.to();
        while (to < lines.length - 1 && lines[to].isBlank()) {
            to++;
        }
        if (to >= lines.length - 1) {
            while (from > 0 && lines[from - 1].isBlank()) {
                from--;
            }
        }
        return join(lines, from, to);
    }

    private static String join(String[] lines, int from, int to) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            if (i < from || i >= to) {
                sb.append(lines[i]);
                if (i < lines.length - 1) {
                    sb.append('\n');
                }
            }
        }
        return sb.toString();
    }
}
