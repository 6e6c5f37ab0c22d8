#ifndef NPYEXP_CEXPKERNELS_H
#define NPYEXP_CEXPKERNELS_H
int npyexp_kernels_placeholder(void);
#endif
