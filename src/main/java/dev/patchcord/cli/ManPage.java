package dev.patchcord.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The manual page, rendered as troff from the command line's own model (picocli's CommandSpec),
 * so that it lists exactly the commands, options and examples that {@code --help} shows. Only the
 * sections the model cannot know (files, environment, exit status) are written here by hand.
 */
final class ManPage {
    private ManPage() {}

    /** Section 8, as wg(8) and wg-quick(8): most commands administer network interfaces. */
    static final String SECTION = "8";

    private static final String FILES = """
            .TP
            .I /etc/patchcord/IFNAME.conf
            The configuration of interface IFNAME, found by \\fBpatchcord up IFNAME\\fR; \
            \\fI/etc/wireguard/IFNAME.conf\\fR is tried next. \\fBpatchcord peer\\fR and \
            \\fBpatchcord syncconf\\fR given a name first ask the running interface for the file it was \
            started from, wherever that is.
            .TP
            .I /run/patchcord/IFNAME.pid\\fR, \\fI/run/patchcord/IFNAME.log
            The process id and the log of an interface that \\fBpatchcord up\\fR started in the \
            background; \\fBpatchcord down\\fR reads the first.
            .TP
            .I /var/run/wireguard/IFNAME.sock
            The configuration socket through which \\fBwg\\fR(8) and \\fBpatchcord show\\fR reach a running interface; \
            a running \\fBpatchcord up\\fR names its configuration file there.
            .TP
            .I /var/lib/patchcord/IFNAME.leases
            The addresses a \\fB[Pool]\\fR has handed out, unless \\fBLeaseFile\\fR says otherwise.
            .TP
            .I patchcord@.service
            The systemd unit: \\fBsystemctl enable \\-\\-now patchcord@wg0\\fR runs \
            \\fBpatchcord up \\-\\-foreground\\fR with \\fI/etc/patchcord/wg0.conf\\fR as the unprivileged \
            user \\fBpatchcord\\fR with CAP_NET_ADMIN only.
            """;

    private static final String ENVIRONMENT = """
            .TP
            .B PATCHCORD_RUN_DIR
            Where pid and log files are kept (default \\fI/run/patchcord\\fR).
            .TP
            .B PATCHCORD_SOCKET_DIR
            Where configuration sockets are made and looked for (default \\fI/var/run/wireguard\\fR, \
            the only place \\fBwg\\fR looks).
            .TP
            .B PATCHCORD_OFFLOADS
            The default of \\fBOffloads\\fR and \\fB\\-\\-offloads\\fR: \\fBall\\fR, \\fBnone\\fR or a list.
            .TP
            .B PATCHCORD_CIPHER_THREADS
            Cipher threads per direction of an encrypted tunnel, its packet loop's own included \
            (1 to 256; default: the cores the process may run on). Only with \\fBparallel\\fR in \
            \\fBOffloads\\fR; for measuring how the cipher scales (\\fIbench/scaling.sh\\fR).
            .TP
            .B PATCHCORD_WARM_UP
            Synthetic round trips through throwaway tunnels before \\fBup\\fR says it is ready, so that \
            the first real packets find the packet path compiled (default 600; \\fB0\\fR for none, as \
            \\fB\\-\\-no\\-warm\\-up\\fR).
            .TP
            .B PATCHCORD_STORE_TIMEOUT_MS
            How long each request of \\fBpeer\\fR (with \\fBStore\\fR) and \\fBcluster status\\fR to the \
            cluster's etcd may take, in milliseconds (1 to 600000; default 3000).
            .TP
            .B PATCHCORD_TRACE
            When set, an unexpected error prints its stack trace as well.
            .TP
            .B PATCHCORD_JAVA_OPTS
            Extra options for the Java virtual machine, read by the launcher.
            .TP
            .B JOURNAL_STREAM
            Set by systemd when standard error goes to the journal: every line then starts with its \
            syslog priority (\\fB<3>\\fR errors, \\fB<4>\\fR warnings, \\fB<6>\\fR events, \\fB<7>\\fR the \
            \\fB\\-d\\fR lines), so \\fBjournalctl \\-p warning\\fR shows what needs attention.
            """;

    private static final String EXIT_STATUS = """
            0 on success; 1 when a command fails, with one line on standard error saying why; \
            2 when the command line is wrong.
            """;

    private static final String SEE_ALSO = """
            \\fBwg\\fR(8), \\fBwg\\-quick\\fR(8), \\fBip\\fR(8), \\fBsystemd.exec\\fR(5)
            """;

    /** The page for {@code root} and every command under it that is not hidden. */
    static String render(CommandLine root, String version, LocalDate date) {
        CommandSpec spec = root.getCommandSpec();
        String name = spec.name();
        StringBuilder out = new StringBuilder();
        out.append(".TH ").append(name.toUpperCase()).append(' ').append(SECTION).append(' ')
                .append(date).append(" \"").append(text(version)).append("\" \"System Administration\"\n");
        out.append(".SH NAME\n").append(name).append(" \\- ").append(text(firstSentence(spec))).append('\n');

        // One hanging line per command, neither hyphenated nor stretched, so options stay whole.
        out.append(".SH SYNOPSIS\n.nh\n.ad l\n.in +4n\n");
        List<CommandSpec> commands = commands(spec);
        for (CommandSpec c : commands) {
            out.append(".ti -4n\n").append(synopsis(c)).append("\n.br\n");
        }
        out.append(".in\n.ad\n.hy\n");

        out.append(".SH DESCRIPTION\n");
        paragraphs(out, spec.usageMessage().description());
        List<String> notes = notes(spec.usageMessage().footer());
        for (String line : notes) {
            out.append(text(line)).append('\n');
        }

        out.append(".SH OPTIONS\n");
        options(out, spec);

        out.append(".SH COMMANDS\n");
        for (CommandSpec c : commands.subList(1, commands.size())) {
            out.append(".SS \"").append(text(c.qualifiedName(" "))).append("\"\n");
            paragraphs(out, c.usageMessage().description());
            parameters(out, c);
            options(out, c);
            footerNotes(out, c);
        }

        out.append(".SH EXAMPLES\n");
        for (CommandSpec c : commands) {
            List<String> examples = examples(c.usageMessage().footer());
            if (examples.isEmpty()) {
                continue;
            }
            out.append(".SS \"").append(text(c.qualifiedName(" "))).append("\"\n");
            literal(out, examples);
        }

        out.append(".SH FILES\n").append(FILES);
        out.append(".SH ENVIRONMENT\n").append(ENVIRONMENT);
        out.append(".SH \"EXIT STATUS\"\n").append(EXIT_STATUS);
        out.append(".SH \"SEE ALSO\"\n").append(SEE_ALSO);
        return out.toString();
    }

    /** {@code spec} and every visible command below it, depth first, each once (aliases share a spec). */
    static List<CommandSpec> commands(CommandSpec spec) {
        List<CommandSpec> all = new ArrayList<>();
        collect(spec, all, new IdentityHashMap<>());
        return all;
    }

    private static void collect(CommandSpec spec, List<CommandSpec> all, Map<CommandSpec, Boolean> seen) {
        if (spec.usageMessage().hidden() || seen.put(spec, Boolean.TRUE) != null) {
            return;
        }
        all.add(spec);
        for (CommandLine sub : spec.subcommands().values()) {
            collect(sub.getCommandSpec(), all, seen);
        }
    }

    private static String firstSentence(CommandSpec spec) {
        String[] d = spec.usageMessage().description();
        return d.length == 0 ? "" : d[0];
    }

    /**
     * The command, its options (required ones without brackets), its parameters and "COMMAND" if it
     * has subcommands: the shortest name of each option, as in {@code --help}.
     */
    private static String synopsis(CommandSpec c) {
        StringBuilder b = new StringBuilder("\\fB").append(text(c.qualifiedName(" "))).append("\\fR");
        for (OptionSpec o : c.options()) {
            if (o.hidden()) {
                continue;
            }
            String item = "\\fB" + text(o.shortestName()) + "\\fR"
                    + (o.arity().max() > 0 ? "=\\fI" + text(o.paramLabel()) + "\\fR" : "");
            b.append(' ').append(o.required() ? item : "[" + item + "]");
        }
        for (PositionalParamSpec p : c.positionalParameters()) {
            if (p.hidden()) {
                continue;
            }
            String item = "\\fI" + text(p.paramLabel()) + "\\fR" + (p.arity().max() > 1 ? "..." : "");
            b.append(' ').append(p.arity().min() > 0 ? item : "[" + item + "]");
        }
        if (c.subcommands().values().stream().anyMatch(s -> !s.getCommandSpec().usageMessage().hidden())) {
            b.append(" \\fICOMMAND\\fR");
        }
        return b.toString();
    }

    private static void options(StringBuilder out, CommandSpec c) {
        for (OptionSpec o : c.options()) {
            if (o.hidden()) {
                continue;
            }
            StringBuilder head = new StringBuilder();
            for (String n : o.names()) {
                head.append(head.isEmpty() ? "" : ", ").append("\\fB").append(text(n)).append("\\fR");
            }
            if (o.arity().max() > 0) {
                head.append("=\\fI").append(text(o.paramLabel())).append("\\fR");
            }
            out.append(".TP\n").append(head).append('\n');
            lines(out, o.description());
        }
    }

    private static void parameters(StringBuilder out, CommandSpec c) {
        for (PositionalParamSpec p : c.positionalParameters()) {
            if (p.hidden()) {
                continue;
            }
            out.append(".TP\n\\fI").append(text(p.paramLabel())).append("\\fR\n");
            lines(out, p.description());
        }
    }

    /** The footer of a subcommand, apart from its examples, which go to EXAMPLES. */
    private static void footerNotes(StringBuilder out, CommandSpec c) {
        List<String> notes = notes(c.usageMessage().footer());
        if (notes.isEmpty()) {
            return;
        }
        out.append(".PP\n");
        List<String> block = new ArrayList<>();
        for (String line : notes) {
            if (line.startsWith(" ")) {
                block.add(line);
                continue;
            }
            if (!block.isEmpty()) {
                literal(out, block);
                block.clear();
            }
            out.append(text(line)).append('\n');
        }
        if (!block.isEmpty()) {
            literal(out, block);
        }
    }

    /** Footer lines before "Example:"/"Examples:", blank lines dropped. */
    static List<String> notes(String[] footer) {
        List<String> notes = new ArrayList<>();
        for (String line : footer) {
            if (isExamplesHeading(line)) {
                break;
            }
            if (!line.isBlank()) {
                notes.add(line);
            }
        }
        return notes;
    }

    /** Footer lines after "Example:"/"Examples:", with their common indentation removed. */
    static List<String> examples(String[] footer) {
        List<String> examples = new ArrayList<>();
        boolean in = false;
        for (String line : footer) {
            if (in && !line.isBlank()) {
                examples.add(line.startsWith("  ") ? line.substring(2) : line);
            }
            in |= isExamplesHeading(line);
        }
        return examples;
    }

    private static boolean isExamplesHeading(String line) {
        String s = line.strip();
        return s.equals("Example:") || s.equals("Examples:");
    }

    /** picocli's descriptions may hold %n for a line break (its own help command's do). */
    private static String[] split(String[] description) {
        return java.util.Arrays.stream(description).flatMap(d -> java.util.Arrays.stream(d.split("%n")))
                .filter(d -> !d.isBlank()).map(String::strip).toArray(String[]::new);
    }

    private static void paragraphs(StringBuilder out, String[] raw) {
        String[] description = split(raw);
        for (int i = 0; i < description.length; i++) {
            if (i > 0) {
                out.append(".PP\n");
            }
            out.append(text(description[i])).append('\n');
        }
    }

    private static void lines(StringBuilder out, String[] raw) {
        String[] description = split(raw);
        for (int i = 0; i < description.length; i++) {
            if (i > 0) {
                out.append(".br\n");
            }
            out.append(text(description[i])).append('\n');
        }
    }

    /** Lines kept as they are (no filling, no adjusting), indented. */
    private static void literal(StringBuilder out, List<String> lines) {
        out.append(".PP\n.RS 4\n.nf\n");
        for (String line : lines) {
            out.append(text(line)).append('\n');
        }
        out.append(".fi\n.RE\n");
    }

    /**
     * One line of running text made safe for troff: backslashes and hyphens escaped, a leading
     * '.' or '\'' kept from being read as a request, characters outside ASCII named by code point.
     */
    static String text(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        if (s.startsWith(".") || s.startsWith("'")) {
            b.append("\\&");
        }
        s.codePoints().forEach(cp -> {
            switch (cp) {
                case '\\' -> b.append("\\e");
                case '-' -> b.append("\\-");
                case '\n', '\r' -> b.append(' ');
                default -> {
                    if (cp < 0x80) {
                        b.appendCodePoint(cp);
                    } else {
                        b.append("\\[u").append(String.format("%04X", cp)).append(']');
                    }
                }
            }
        });
        return b.toString();
    }
}
