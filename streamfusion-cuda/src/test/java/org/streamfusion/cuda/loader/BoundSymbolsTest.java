package org.streamfusion.cuda.loader;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.streamfusion.bindings.cudart.Cudart;
import org.streamfusion.bindings.nccl.Nccl;
import org.streamfusion.bindings.nvshmem.Nvshmem;

import java.lang.foreign.SymbolLookup;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every function jextract generated for a library resolves in the library that was actually loaded
 * (e.g. the GPU machine's NCCL 2.28, although the bindings come from the 2.30.7 headers). Needs the
 * library, not a GPU; skipped where the library cannot be loaded.
 */
class BoundSymbolsTest {

    @ParameterizedTest
    @EnumSource(value = NativeLibrary.class, names = {"CUDART", "NCCL", "NVSHMEM"})
    void everyGeneratedFunctionResolvesInTheLoadedLibrary(NativeLibrary library) {
        var failure = NativeLoader.global().tryLoad(library);
        assumeTrue(failure.isEmpty(), () -> library + " not loadable here: " + failure.get().getMessage());
        Class<?> header = switch (library) {
            case CUDART -> Cudart.class;
            case NCCL -> Nccl.class;
            case NVSHMEM -> Nvshmem.class;
            case STREAMFUSION -> throw new AssertionError();
        };
        // jextract emits one nested class per function, named after it.
        List<String> functions = Arrays.stream(header.getDeclaredClasses()).map(Class::getSimpleName).sorted().toList();
        assertFalse(functions.isEmpty());
        SymbolLookup lookup = SymbolLookup.loaderLookup();
        List<String> missing = functions.stream().filter(f -> lookup.find(f).isEmpty()).toList();
        System.out.printf("%s (%s): %d functions bound, missing %s%n", library,
                NativeLoader.global().load(library).path(), functions.size(), missing);
        assertEquals(List.of(), missing);
    }
}
