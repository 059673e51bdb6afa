package dev.patchcord.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.patchcord.control.ConfigException;
import dev.patchcord.control.WgConfig;
import dev.patchcord.control.WgPeerSection;

import java.util.Base64;
import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * wg-quick configuration files ({@code patchcord up wg0.conf}), including patchcord's own keys and
 * the [Pool] section. Contract: a file is either a configuration whose peers all have different
 * keys, or a {@link ConfigException} naming a line that exists (0 for the file as a whole), in one
 * printable line; nothing else is thrown.
 */
class WgConfigFuzzTest {

    @FuzzTest
    void parse(byte[] file) {
        String text = Contract.utf8(file);
        WgConfig config = Contract.parseOrRefuse(ConfigException.class, () -> WgConfig.parse(text, "fuzz.conf"));
        if (config == null) {
            ConfigException e = refusal(text);
            long lines = text.lines().count();
            assertThat(e.line()).isBetween(0, (int) lines + 1);
            assertThat(e.source()).isEqualTo("fuzz.conf");
            return;
        }
        assertThat(config.interfaceSection()).isNotNull();
        Set<String> keys = new HashSet<>();
        for (WgPeerSection p : config.peers()) {
            assertThat(keys.add(Base64.getEncoder().encodeToString(p.publicKey()))).as("duplicate peer").isTrue();
        }
    }

    private static ConfigException refusal(String text) {
        try {
            WgConfig.parse(text, "fuzz.conf");
        } catch (ConfigException e) {
            return e;
        }
        throw new AssertionError("parsing the same text twice gave different results");
    }
}
