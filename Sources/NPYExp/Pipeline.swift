// NPYExp: placeholder until the pipeline lands.
import NPYFormat
import Gzip
import ExpKernels
import Crypto
public enum NPYExpPlaceholder {}
