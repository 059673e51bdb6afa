package dev.patchcord.tun;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

class InterfaceNameTest {
    @ParameterizedTest
    @ValueSource(strings = {"tun0", "tap%d", "a", "pc-tunnel.1", "123456789012345"})
    void valid(String name) {
        assertThat(InterfaceName.problem(name)).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "..", "1234567890123456", "a/b", "a:b", "a b", "tab\t", "a%s", "%d%d"})
    void invalid(String name) {
        assertThat(InterfaceName.problem(name)).isNotNull();
    }
}
