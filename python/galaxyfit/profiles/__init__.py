"""Light profiles: laws, geometry and conversions to other tools' conventions."""

from galaxyfit.profiles import operated
from galaxyfit.profiles.geometry import axis_ratio_and_angle_from, axis_ratio_from, ell_comps_from
from galaxyfit.profiles.light import (
    Chameleon,
    ChameleonSph,
    DevVaucouleurs,
    DevVaucouleursSph,
    ElsonFreeFall,
    ElsonFreeFallSph,
    Exponential,
    ExponentialCore,
    ExponentialCoreSph,
    ExponentialSph,
    Gaussian,
    GaussianSph,
    LightProfile,
    Moffat,
    MoffatSph,
    PointSource,
    Sersic,
    SersicCore,
    SersicCoreSph,
    SersicSph,
    sersic_constant,
)
