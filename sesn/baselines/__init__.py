"""The scale-aware baselines of thesis Table 5 on MNIST-Scale, each under the
protocol of ``sesn.baselines.protocol`` (the CNN's and SESN's) and with the
settings of SESN's re-implementations (Sosnovik et al. 2020) and the scales of
thesis Table 7; one module per method, its docstring says what it does:

- ``sicnn``: SiCNN (Xu et al. 2014), filters interpolated across scales;
- ``siconvnet``: SI-ConvNet (Kanazawa et al. 2014), a pyramid of rescaled inputs;
- ``sevf``: SEVF (Marcos et al. 2018), scale-equivariant vector fields;
- ``dss``: DSS (Worrall & Welling 2019), scale-space with dilation;
- ``sscnn``: SS-CNN (Ghosh & Gupta 2019), log-radial harmonic steerable filters.
"""

from sesn.baselines.dss import MnistScaleDSS
from sesn.baselines.sevf import MnistScaleSEVF
from sesn.baselines.sicnn import MnistScaleSiCNN
from sesn.baselines.siconvnet import MnistScaleSIConvNet
from sesn.baselines.sscnn import MnistScaleSSCNN

# model name suffix → network (registered in sesn.models as mnist-scale-<suffix>)
NETWORKS = {
    "sicnn": MnistScaleSiCNN,
    "siconvnet": MnistScaleSIConvNet,
    "sevf": MnistScaleSEVF,
    "dss": MnistScaleDSS,
    "sscnn": MnistScaleSSCNN,
}

__all__ = ["NETWORKS", "MnistScaleDSS", "MnistScaleSEVF", "MnistScaleSIConvNet", "MnistScaleSiCNN", "MnistScaleSSCNN"]
