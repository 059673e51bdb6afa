package dev.patchcord.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Log levels for the journal. Every message is one line on standard error, and under systemd
 * that line goes to the journal as it is; systemd reads a {@code <N>} in front of a line as its
 * syslog priority ({@code SyslogLevelPrefix=}, on by default). So when standard error is the
 * journal (systemd says so in {@code JOURNAL_STREAM}, the device and inode of the stream),
 * every line gets its priority: errors 3, warnings 4, everything else 6, and the {@code -d}
 * lines 7 (debug), so {@code journalctl -p warning} shows what needs attention. Anywhere else
 * the lines are left exactly as they were.
 */
final class Journal {
    static final int ERROR = 3;
    static final int WARNING = 4;
    static final int INFO = 6;
    static final int DEBUG = 7;

    private static volatile boolean active;

    private Journal() {
    }

    /**
     * Turns priorities on if standard error is the journal's stream; called once at start, before
     * anything is printed.
     */
    static void install() {
        String stream = System.getenv("JOURNAL_STREAM");
        if (stream != null && isStandardError(stream)) {
            active = true;
            System.setErr(new PrintStream(new Prefixing(System.err, INFO), true, StandardCharsets.UTF_8));
        }
    }

    /** {@code JOURNAL_STREAM} is {@code DEVICE:INODE}; standard error is that socket if its inode matches. */
    static boolean isStandardError(String journalStream) {
        try {
            return sameStream(journalStream, Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString());
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Whether {@code /proc/self/fd/N}'s link text ({@code socket:[INODE]}) names the stream {@code DEVICE:INODE}. */
    static boolean sameStream(String journalStream, String fdLink) {
        int colon = journalStream.indexOf(':');
        return colon > 0 && colon < journalStream.length() - 1
                && fdLink.equals("socket:[" + journalStream.substring(colon + 1) + "]");
    }

    /** The prefix for a line of {@code level}, or nothing when standard error is not the journal. */
    static String prefix(int level) {
        return active ? "<" + level + ">" : "";
    }

    /** Where the {@code -d} lines go: standard error, each line marked as debug in the journal. */
    static PrintStream debug(PrintStream err) {
        return active ? new PrintStream(new Prefixing(err, DEBUG), true, StandardCharsets.UTF_8) : err;
    }

    /** The level a line gets when its writer did not give one: a warning if it says so, else info. */
    static int levelOf(String line, int fallback) {
        return line.startsWith("patchcord: WARNING") || line.contains(": Warning: ") || line.startsWith("patchcord: Warning")
                ? WARNING : fallback;
    }

    /**
     * Puts {@code <N>} in front of every line that has none yet. Bytes are collected up to the end
     * of a line and written with it in one call, so lines from two threads do not interleave.
     */
    static final class Prefixing extends OutputStream {
        private final PrintStream out;
        private final int level;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream(256);

        Prefixing(PrintStream out, int level) {
            this.out = out;
            this.level = level;
        }

        @Override
        public synchronized void write(int b) {
            line.write(b);
            if (b == '\n') {
                emit();
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            for (int i = off; i < off + len; i++) {
                write(b[i]);
            }
        }

        @Override
        public synchronized void flush() {
            if (line.size() > 0 && line.toByteArray()[line.size() - 1] == '\n') {
                emit();
            }
            out.flush();
        }

        private void emit() {
            String text = line.toString(StandardCharsets.UTF_8);
            line.reset();
            boolean marked = text.length() > 2 && text.charAt(0) == '<' && Character.isDigit(text.charAt(1))
                    && text.charAt(2) == '>';
            synchronized (out) {
                out.print(marked ? text : "<" + levelOf(text, level) + ">" + text);
                out.flush();
            }
        }
    }
}
