package dev.patchcord.control;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.patchcord.core.udptun.HostsException;
import dev.patchcord.core.udptun.HostsJson;
import dev.patchcord.core.udptun.HostsTable;
import dev.patchcord.testing.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The hosts URL over real HTTPS on 127.0.0.1, no root: a throwaway CA ({@link TestPki}) signs one
 * certificate for 127.0.0.1/localhost and one for "other.test".
 */
@Timeout(60)
class HostsUrlTest {
    private static final String TABLE = "{nodes:{\"10.0.0.2\":{host:\"127.0.0.2\",port:7001}}}";

    @TempDir
    static Path dir;
    private static HttpsServer good, other;
    private static volatile int status = 200;
    private static volatile String served = TABLE;
    private static SSLContext trust;

    @BeforeAll
    static void servers() throws Exception {
        TestPki pki = new TestPki(dir);
        good = server(pki.leaf("good", "EC", "CN=127.0.0.1", "san=ip:127.0.0.1,dns:localhost"));
        other = server(pki.leaf("other", "EC", "CN=other.test", "san=dns:other.test"));
        trust = CaTrust.context(pki.caPem(), null);
    }

    private static HttpsServer server(Path keyStore) throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(TestPki.load(keyStore), TestPki.PASSWORD.toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        HttpsServer s = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        s.setHttpsConfigurator(new HttpsConfigurator(ctx));
        s.createContext("/hosts.json", x -> {
            byte[] body = served.getBytes(StandardCharsets.UTF_8);
            x.sendResponseHeaders(status, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        s.createContext("/endless", x -> {
            // Chunked, and longer than any hosts file may be: white space that would parse.
            x.sendResponseHeaders(200, 0);
            byte[] spaces = " ".repeat(64 * 1024).getBytes(StandardCharsets.US_ASCII);
            try (var out = x.getResponseBody()) {
                for (int i = 0; i <= HostsUrl.MAX_BODY / spaces.length; i++) {
                    out.write(spaces);
                }
                out.write(TABLE.getBytes(StandardCharsets.UTF_8));
            } catch (java.io.IOException e) {
                // the client stopped reading, as it should
            }
            x.close();
        });
        s.createContext("/moved", x -> {
            x.getResponseHeaders().add("Location", "/hosts.json");
            x.sendResponseHeaders(302, -1);
            x.close();
        });
        s.createContext("/loop", x -> {
            x.getResponseHeaders().add("Location", "/loop");
            x.sendResponseHeaders(301, -1);
            x.close();
        });
        s.start();
        return s;
    }

    @AfterAll
    static void stop() {
        good.stop(0);
        other.stop(0);
    }

    private static URI uri(HttpsServer s, String host, String path) {
        return URI.create("https://" + host + ":" + s.getAddress().getPort() + path);
    }

    private static HostsTable load(HostsUrl url) throws HostsException {
        return HostsTable.resolve(HostsJson.parse(url.fetch()), InetAddress::getByName);
    }

    @Test
    void successReplacesTheTableAndA500KeepsIt() {
        HostsUrl url = new HostsUrl(uri(good, "127.0.0.1", "/hosts.json"), trust);
        AtomicReference<HostsTable> installed = new AtomicReference<>(HostsTable.wildcard(new InetSocketAddress("127.0.0.9", 1)));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Refresher<HostsTable> r = new Refresher<>(() -> load(url), installed::set, 300, new PrintStream(err, true), "udptun",
                "hosts table");
        status = 200;
        assertThat(r.refresh()).isTrue();
        HostsTable fresh = installed.get();
        assertThat(fresh.routes()).containsExactly(new HostsTable.Route(0x0a000002, new InetSocketAddress("127.0.0.2", 7001)));
        try {
            status = 500;
            assertThat(r.refresh()).isFalse();
        } finally {
            status = 200;
        }
        assertThat(installed.get()).isSameAs(fresh);
        assertThat(err.toString()).contains("HTTP 500 from " + url.uri()).contains("keeping the previous one")
                .hasLineCount(1);
    }

    @Test
    void aMalformedTableKeepsTheLastGoodOneAndIsSaidOnce() {
        HostsUrl url = new HostsUrl(uri(good, "127.0.0.1", "/hosts.json"), trust);
        AtomicReference<HostsTable> installed = new AtomicReference<>();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Refresher<HostsTable> r = new Refresher<>(() -> load(url), installed::set, 300, new PrintStream(err, true), "udptun",
                "hosts table");
        assertThat(r.refresh()).isTrue();
        HostsTable good = installed.get();
        try {
            for (String bad : java.util.List.of("{nodes:{\"10.0.0.2\":{host:\"127.0.0.2\",port:\"7001\"}}}", "{nodes:", "[]")) {
                served = bad;
                assertThat(r.refresh()).isFalse();
                assertThat(r.refresh()).isFalse();
                assertThat(installed.get()).isSameAs(good);
            }
        } finally {
            served = TABLE;
        }
        assertThat(err.toString()).contains("node '10.0.0.2' has a 'port' that is not a number")
                .contains("not valid JSON").contains("the document is not a JSON object").hasLineCount(3);
        assertThat(r.refresh()).isTrue();
        assertThat(err.toString()).contains("hosts table loaded again").hasLineCount(4);
    }

    @Test
    void localhostNameVerifiesToo() throws Exception {
        assertThat(new HostsUrl(uri(good, "localhost", "/hosts.json"), trust).fetch()).isEqualTo(TABLE);
    }

    @Test
    void aRedirectIsFollowedButNotForever() throws Exception {
        assertThat(new HostsUrl(uri(good, "127.0.0.1", "/moved"), trust).fetch()).isEqualTo(TABLE);
        assertThatThrownBy(() -> new HostsUrl(uri(good, "127.0.0.1", "/loop"), trust).fetch())
                .isInstanceOf(HostsException.class).hasMessageContaining("more than 10 redirects");
    }

    @Test
    void anAnswerLargerThanTheLimitIsRefusedWithoutReadingItAll() {
        assertThatThrownBy(() -> new HostsUrl(uri(good, "127.0.0.1", "/endless"), trust).fetch())
                .isInstanceOf(HostsException.class).hasMessageContaining("larger than 4 MiB");
    }

    @Test
    void aCertificateForAnotherNameIsRefused() {
        for (String host : List.of("127.0.0.1", "localhost")) {
            assertThatThrownBy(() -> new HostsUrl(uri(other, host, "/hosts.json"), trust).fetch())
                    .isInstanceOf(HostsException.class).hasMessageContaining("cannot fetch")
                    .hasMessageContaining("subject alternative"); // the name, not the CA, is what fails
        }
    }

    @Test
    void theJdkCasAloneDoNotTrustTheTestCa() {
        assertThatThrownBy(() -> new HostsUrl(uri(good, "127.0.0.1", "/hosts.json"), null).fetch())
                .isInstanceOf(HostsException.class).hasMessageContaining("cannot fetch");
    }

    @Test
    void aCaDirectoryWorksLikeACaFile() throws Exception {
        Path caDir = Files.createDirectories(dir.resolve("cas"));
        Files.copy(dir.resolve("ca.pem"), caDir.resolve("ca.pem"));
        Files.writeString(caDir.resolve("README"), "not a certificate");
        SSLContext fromDir = CaTrust.context(null, caDir);
        assertThat(new HostsUrl(uri(good, "127.0.0.1", "/hosts.json"), fromDir).fetch()).isEqualTo(TABLE);
        assertThatThrownBy(() -> CaTrust.context(dir.resolve("ca.p12"), null)).isInstanceOf(HostsException.class);
    }

    @Test
    void aFailedFirstFetchBacksOffFromOneSecondUpToTheInterval() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Refresher<HostsTable> r = new Refresher<>(() -> { throw new HostsException("down"); }, t -> { },
                5, new PrintStream(err, true), "udptun", "hosts table");
        assertThat(r.refresh()).isFalse();
        assertThat(err.toString()).contains("down; retrying in 1 s");
        assertThat(r.nextDelayMs()).isEqualTo(1000);
    }
}
