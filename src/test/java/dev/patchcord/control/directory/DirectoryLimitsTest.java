package dev.patchcord.control.directory;

import dev.patchcord.core.wg.X25519;
import dev.patchcord.testing.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The limits of the directory's HTTP server. The JDK reads them once per process, when its first
 * HTTP server starts, and other tests in this JVM start HTTP servers of their own; so the
 * directory runs in a child JVM here, as it does in {@code patchcord directory serve}.
 */
@Timeout(180)
class DirectoryLimitsTest {
    private static final int EXTRA = 20;

    @TempDir
    Path dir;

    /** The child: a directory with no members on 127.0.0.1; prints its port, runs until its input ends. */
    public static void main(String[] args) throws Exception {
        TestPki pki = new TestPki(Path.of(args[0]));
        DirectoryState state = new DirectoryState(X25519.generatePrivate(new SplittableRandom(5)), List.of(),
                DirectoryState.DEFAULT_TTL_MILLIS);
        try (DirectoryServer server = DirectoryServer.start(new DirectoryServer.Settings(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                TlsMaterial.fromPkcs12(pki.leaf("directory", "EC"), pki.passwordFile()).context(), false),
                state, null, new PrintStream(System.err, true), System::currentTimeMillis)) {
            System.out.println("port " + server.address().getPort());
            System.out.flush();
            while (System.in.read() >= 0) {
                // until the test closes our input
            }
        }
    }

    @Test
    void connectionsBeyondTheLimitAreClosedAtOnceAndSilentOnesSoonAfter() throws Exception {
        Files.createDirectories(dir);
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), DirectoryLimitsTest.class.getName(), dir.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<Socket> sockets = new ArrayList<>();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            assertThat(line).startsWith("port ");
            int port = Integer.parseInt(line.substring(5));
            for (int i = 0; i < DirectoryServer.MAX_CONNECTIONS + EXTRA; i++) {
                sockets.add(new Socket(InetAddress.getLoopbackAddress(), port));
            }
            // The last ones are over the limit: closed at once. Without a limit they would stay
            // until the idle timer, at least 10 s later.
            for (Socket s : sockets.subList(DirectoryServer.MAX_CONNECTIONS, sockets.size())) {
                assertThat(closedWithin(s, 5_000)).as("a connection over the limit").isTrue();
            }
            // One that never sends anything goes after MAX_EXCHANGE_SECONDS, checked every 10 s;
            // the JDK's own default would keep it 30 to 40 s.
            assertThat(closedWithin(sockets.get(0), (DirectoryServer.MAX_EXCHANGE_SECONDS + 15) * 1000))
                    .as("a silent connection").isTrue();
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
            child.getOutputStream().close();
            if (!child.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                child.destroyForcibly().waitFor();
            }
        }
    }

    /** Whether the server closes {@code s} (end of stream or reset) within {@code millis}. */
    private static boolean closedWithin(Socket s, int millis) throws IOException {
        s.setSoTimeout(millis);
        try {
            return s.getInputStream().read() == -1;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }
}
