#include "CTap.h"
