// ExpKernels: placeholder until the kernels land.
import CExpKernels
public enum ExpKernelsPlaceholder {}
