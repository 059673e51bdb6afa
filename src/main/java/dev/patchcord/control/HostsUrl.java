package dev.patchcord.control;

import dev.patchcord.core.udptun.HostsException;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/**
 * Fetches udptun's hosts.json from {@code --hosts-url}: a plain GET, up to 10 redirects followed
 * (udptun's limit; the JDK's own would stop at 5), a 2xx body returned, anything else an error.
 * TLS certificates and host names are verified by the JDK client.
 */
public final class HostsUrl {
    static final int MAX_REDIRECTS = 10;
    /**
     * The largest body read: {@code HostsTable.MAX_HOSTS} entries of some 100 bytes each are 400
     * KiB, so this leaves room for comments and white space while a server (or anyone between,
     * for http) cannot make patchcord buffer an endless answer.
     */
    static final int MAX_BODY = 4 << 20;
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    private final URI uri;
    private final HttpClient client;

    /** @param ssl the trusted CAs, or null for the JDK's */
    public HostsUrl(URI uri, SSLContext ssl) {
        String scheme = uri.getScheme();
        if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
            throw new IllegalArgumentException("hosts URL '" + uri + "' is not http or https");
        }
        this.uri = uri;
        HttpClient.Builder b = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).connectTimeout(TIMEOUT);
        if (ssl != null) {
            b.sslContext(ssl);
        }
        this.client = b.build();
    }

    public URI uri() {
        return uri;
    }

    /** The body of a 2xx answer. */
    public String fetch() throws HostsException {
        URI at = uri;
        for (int hops = 0; ; hops++) {
            HttpResponse<java.io.InputStream> r;
            byte[] body;
            try {
                r = client.send(HttpRequest.newBuilder(at).timeout(TIMEOUT).GET().build(),
                        HttpResponse.BodyHandlers.ofInputStream());
                try (java.io.InputStream in = r.body()) {
                    body = in.readNBytes(r.statusCode() / 100 == 2 ? MAX_BODY + 1 : 0);
                }
            } catch (IOException e) {
                throw new HostsException("cannot fetch " + at + ": " + describe(e));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HostsException("fetch of " + at + " interrupted");
            }
            int status = r.statusCode();
            if (status / 100 == 2) {
                if (body.length > MAX_BODY) {
                    throw new HostsException("the answer from " + at + " is larger than " + (MAX_BODY >> 20) + " MiB");
                }
                return new String(body, java.nio.charset.StandardCharsets.UTF_8);
            }
            Optional<String> location = r.headers().firstValue("Location");
            if (status / 100 != 3 || location.isEmpty()) {
                throw new HostsException("HTTP " + status + " from " + at);
            }
            if (hops == MAX_REDIRECTS) {
                throw new HostsException("more than " + MAX_REDIRECTS + " redirects from " + uri);
            }
            try {
                at = at.resolve(location.get());
            } catch (IllegalArgumentException e) {
                throw new HostsException("bad redirect Location '" + location.get() + "' from " + at);
            }
        }
    }

    /** The innermost cause says what went wrong (e.g. "No subject alternative names matching IP address"). */
    static String describe(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        String m = t.getMessage();
        return m == null ? t.getClass().getSimpleName() : m.replaceAll("\\s+", " ");
    }
}
